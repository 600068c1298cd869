#!/usr/bin/env python3
"""Draws the relay's rendered messages as each service would show them, as PNG screenshots.

    python3 scripts/render-alert-previews.py SNAPSHOT_DIR OUT_DIR
    # needs chromium and fonts: scripts/install-dependencies.sh --test

Reads from SNAPSHOT_DIR (Tests/AlertsTests/Snapshots) the messages the relay renders:

    slack-audit.json       Slack: Block Kit "blocks" and legacy "attachments" (with "color")
    teams-audit.json       Microsoft Teams: a message with Adaptive Card attachments
    discord-audit.json     Discord: "content" and "embeds"
    googlechat-audit.json  Google Chat: "text" and "cardsV2"
    email-audit.txt        Email: "Subject: ...", a blank line, the text part, a line "---", the HTML part

and writes OUT_DIR/<service>.png (slack, teams, discord, googlechat, email) and the page it was
taken from, OUT_DIR/<service>.html. Further snapshots of the same service, such as
slack-detect.json, become OUT_DIR/slack-detect.png. Each page is a local look-alike of the
service's client, not the client itself: fonts, spacing and colours are close approximations, and
a small caption at the bottom of every picture says so. Images referred to by URL are never
fetched: they are drawn as grey boxes with their alternative text.

Every text from a message is escaped before it becomes HTML; only the markup each service itself
interprets is turned into formatting (Slack mrkdwn, Discord and Teams markdown, Google Chat's
HTML subset, which is parsed and rebuilt from allowed tags only). Element types a renderer does
not know are drawn as dashed boxes naming the type, so a new kind of block is visible rather
than lost.

Each page is rendered twice by scripts/render-html.sh: once with --dump-dom to read the content
height the page measured itself, once for the 700-pixel-wide screenshot of exactly that height.
Exits 0 when every expected snapshot was found and rendered, 1 otherwise, 2 on wrong usage.
"""

import datetime
import html
import json
import os
import re
import secrets
import subprocess
import sys
from html.parser import HTMLParser

HERE = os.path.dirname(os.path.abspath(__file__))
RENDER = os.path.join(HERE, "render-html.sh")
WIDTH = 700
APP_NAME = "defender-relay"
SERVICES = {
    "slack": ("slack", ".json", "Slack"),
    "teams": ("teams", ".json", "Microsoft Teams"),
    "discord": ("discord", ".json", "Discord"),
    "googlechat": ("googlechat", ".json", "Google Chat"),
    "email": ("email", ".txt", "an email client"),
}


def esc(value):
    return html.escape("" if value is None else str(value), quote=True)


def safe_url(url):
    """Returns url when it is an http(s) or mailto link, else None (links stay inert in a preview)."""
    url = str(url or "").strip()
    return url if re.match(r"^(https?:|mailto:)", url, re.I) else None


def link(label_html, url, css="link"):
    target = safe_url(url)
    if target is None:
        return '<span class="%s">%s</span>' % (css, label_html)
    return '<a class="%s" href="%s">%s</a>' % (css, esc(target), label_html)


def image_box(alt, width=None, height=None, css="img-box"):
    """A grey stand-in for an image that a preview does not fetch."""
    style = ""
    if width:
        style += "width:%dpx;" % width
    if height:
        style += "height:%dpx;" % height
    label = "image" if alt is None else alt
    return '<span class="%s" style="%s" title="image not loaded in a local preview">%s</span>' % (css, style, esc(label))


def unknown(kind, what):
    return '<div class="unknown">%s <b>%s</b> is not drawn by this preview</div>' % (esc(what), esc(kind))


class Placeholders:
    """Keeps finished HTML out of the way while the rest of a text is escaped and formatted."""

    def __init__(self):
        self.parts = []

    def keep(self, markup):
        self.parts.append(markup)
        return "\ue000%d\ue001" % (len(self.parts) - 1)

    def restore(self, text):
        for _ in range(4):  # a kept part may hold further placeholders
            text = re.sub("\ue000(\\d+)\ue001", lambda m: self.parts[int(m.group(1))], text)
        return text


def tidy_blocks(markup):
    """Drops the line break that follows a block (a code block, quote or list ends its own line)."""
    return re.sub(r"(</pre>|</blockquote>|</ul>|</ol>|</div>)<br>", r"\1", markup)


def emphasis(text, marker, tag):
    """Wraps marker...marker spans that stand at word boundaries, as Slack and Google Chat do."""
    m = re.escape(marker)
    pattern = r"(?<![\w%s])%s(?!\s)([^\n%s]+?)(?<!\s)%s(?![\w%s])" % (m, m, m, m, m)
    return re.sub(pattern, r"<%s>\1</%s>" % (tag, tag), text)


# The Slack emoji shortcodes most likely in alerts; others stay as written, as Slack shows
# shortcodes it does not know.
EMOJI = {
    "rotating_light": "\U0001F6A8", "warning": "\u26A0\uFE0F", "white_check_mark": "\u2705",
    "heavy_check_mark": "\u2714\uFE0F", "x": "\u274C", "red_circle": "\U0001F534",
    "large_orange_circle": "\U0001F7E0", "large_yellow_circle": "\U0001F7E1",
    "large_green_circle": "\U0001F7E2", "large_blue_circle": "\U0001F535", "white_circle": "\u26AA",
    "fire": "\U0001F525", "bell": "\U0001F514", "information_source": "\u2139\uFE0F",
    "no_entry": "\u26D4", "no_entry_sign": "\U0001F6AB", "lock": "\U0001F512", "unlock": "\U0001F513",
    "shield": "\U0001F6E1\uFE0F", "arrow_up": "\u2B06\uFE0F", "arrow_down": "\u2B07\uFE0F",
    "arrow_right": "\u27A1\uFE0F", "small_red_triangle": "\U0001F53A",
    "small_red_triangle_down": "\U0001F53B", "chart_with_upwards_trend": "\U0001F4C8",
    "chart_with_downwards_trend": "\U0001F4C9", "mag": "\U0001F50D", "eyes": "\U0001F440",
    "new": "\U0001F195", "key": "\U0001F511", "stopwatch": "\u23F1\uFE0F", "hourglass": "\u231B",
    "question": "\u2753", "exclamation": "\u2757", "bangbang": "\u203C\uFE0F", "tada": "\U0001F389",
}


def shortcodes(escaped):
    return re.sub(r":([a-z0-9_+\-]+):", lambda m: EMOJI.get(m.group(1), m.group(0)), escaped)


# ---------------------------------------------------------------------------------------------
# Slack

def slack_unescape(text):
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def slack_angle(inner):
    """Renders one <...> token of Slack mrkdwn: a link, a mention, a date or a special command."""
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        return '<span class="mention">@%s</span>' % esc(slack_unescape(label or target[1:]))
    if target.startswith("#"):
        return '<span class="mention">#%s</span>' % esc(slack_unescape(label or target[1:]))
    if target.startswith("!"):
        command = target[1:]
        if command in ("here", "channel", "everyone"):
            return '<span class="mention broadcast">@%s</span>' % esc(command)
        if command.startswith("subteam^"):
            return '<span class="mention">%s</span>' % esc(slack_unescape(label or "@" + command[len("subteam^"):]))
        if command.startswith("date^"):
            return esc(slack_unescape(label or command))
        return esc(slack_unescape(label or command))
    text = slack_unescape(label or target)
    if target.startswith("mailto:") and not label:
        text = target[len("mailto:"):]
    return link(esc(text), slack_unescape(target))


def slack_mrkdwn(text, emoji=True):
    """Slack mrkdwn to HTML: *bold*, _italic_, ~strike~, `code`, ```blocks```, > quotes,
    <url|links>, <@mentions>, and the &amp; &lt; &gt; entities Slack requires for & < >."""
    keep = Placeholders()
    text = str(text or "")
    text = re.sub(r"```(.*?)```", lambda m: keep.keep('<pre class="pre">%s</pre>' % esc(slack_unescape(m.group(1)).strip("\n"))), text, flags=re.S)
    text = re.sub(r"`([^`\n]+)`", lambda m: keep.keep('<code class="code">%s</code>' % esc(slack_unescape(m.group(1)))), text)
    text = re.sub(r"<([^<>\n]+)>", lambda m: keep.keep(slack_angle(m.group(1))), text)
    lines = []
    for line in text.split("\n"):
        quoted = line.startswith(">")  # a raw ">" starts a quote; "&gt;" is a literal ">"
        body = line[1:].lstrip(" ") if quoted else line
        body = esc(slack_unescape(body))
        if emoji:
            body = shortcodes(body)
        for marker, tag in (("*", "b"), ("_", "i"), ("~", "s")):
            body = emphasis(body, marker, tag)
        lines.append((quoted, body))
    out = []
    index = 0
    while index < len(lines):
        if lines[index][0]:
            quote = []
            while index < len(lines) and lines[index][0]:
                quote.append(lines[index][1])
                index += 1
            out.append('<blockquote class="quote">%s</blockquote>' % "<br>".join(quote))
        else:
            out.append(lines[index][1] + ("<br>" if index + 1 < len(lines) and not lines[index + 1][0] else ""))
            index += 1
    return tidy_blocks(keep.restore("".join(out)))


def slack_text(obj):
    if isinstance(obj, str):
        return slack_mrkdwn(obj)
    if not isinstance(obj, dict):
        return ""
    if obj.get("type") == "plain_text":
        escaped = esc(slack_unescape(obj.get("text", "")))
        escaped = shortcodes(escaped) if obj.get("emoji", True) else escaped
        return escaped.replace("\n", "<br>")
    return slack_mrkdwn(obj.get("text", ""), emoji=not obj.get("verbatim", False))


def slack_element(element):
    """Interactive and context elements: buttons, menus, images, text."""
    kind = element.get("type")
    if kind == "button":
        style = element.get("style")
        css = "s-button" + (" primary" if style == "primary" else " danger" if style == "danger" else "")
        return link(slack_text(element.get("text")), element.get("url"), css)
    if kind == "image":
        return image_box(element.get("alt_text"), 20, 20, "img-box small")
    if kind in ("mrkdwn", "plain_text"):
        return '<span class="ctx-text">%s</span>' % slack_text(element)
    if kind == "overflow":
        return '<span class="s-button">&#x22EF;</span>'
    if kind and ("select" in kind or kind in ("datepicker", "timepicker", "datetimepicker")):
        placeholder = slack_text(element.get("placeholder")) or esc(kind.replace("_", " "))
        return '<span class="s-select">%s <span class="caret">&#x25BE;</span></span>' % placeholder
    return '<span class="unknown">element <b>%s</b></span>' % esc(kind)


def slack_rich_text(element):
    kind = element.get("type")
    if kind in ("rich_text_section", "rich_text_preformatted", "rich_text_quote"):
        parts = []
        for item in element.get("elements", []):
            style = item.get("style") or {}
            t = item.get("type")
            if t == "text":
                piece = esc(item.get("text", "")).replace("\n", "<br>")
            elif t == "link":
                piece = link(esc(item.get("text") or item.get("url")), item.get("url"))
            elif t == "user":
                piece = '<span class="mention">@%s</span>' % esc(item.get("user_id"))
            elif t == "usergroup":
                piece = '<span class="mention">@%s</span>' % esc(item.get("usergroup_id"))
            elif t == "channel":
                piece = '<span class="mention">#%s</span>' % esc(item.get("channel_id"))
            elif t == "broadcast":
                piece = '<span class="mention broadcast">@%s</span>' % esc(item.get("range"))
            elif t == "emoji":
                code = item.get("unicode")
                piece = "".join(chr(int(c, 16)) for c in code.split("-")) if code else shortcodes(":%s:" % esc(item.get("name")))
            elif t == "date":
                piece = esc(item.get("fallback") or item.get("timestamp"))
            else:
                piece = '<span class="unknown">%s</span>' % esc(t)
            for flag, tag in (("code", "code"), ("bold", "b"), ("italic", "i"), ("strike", "s")):
                if style.get(flag):
                    piece = ('<code class="code">%s</code>' % piece) if tag == "code" else "<%s>%s</%s>" % (tag, piece, tag)
            parts.append(piece)
        inner = "".join(parts)
        if kind == "rich_text_preformatted":
            return '<pre class="pre">%s</pre>' % inner
        if kind == "rich_text_quote":
            return '<blockquote class="quote">%s</blockquote>' % inner
        return "<div>%s</div>" % inner
    if kind == "rich_text_list":
        tag = "ol" if element.get("style") == "ordered" else "ul"
        items = "".join("<li>%s</li>" % slack_rich_text(e) for e in element.get("elements", []))
        return '<%s class="list" style="margin-left:%dpx">%s</%s>' % (tag, 22 * int(element.get("indent", 0)), items, tag)
    return unknown(kind, "rich text element")


def slack_block(block):
    kind = block.get("type")
    if kind == "header":
        return '<div class="s-header">%s</div>' % slack_text(block.get("text"))
    if kind == "section":
        parts = []
        if block.get("text"):
            parts.append('<div class="s-section-text">%s</div>' % slack_text(block.get("text")))
        if block.get("fields"):
            parts.append('<div class="s-fields">%s</div>' % "".join("<div>%s</div>" % slack_text(f) for f in block["fields"]))
        accessory = block.get("accessory")
        side = ""
        if accessory:
            if accessory.get("type") == "image":
                side = image_box(accessory.get("alt_text"), 88, 88)
            else:
                side = slack_element(accessory)
            side = '<div class="s-accessory">%s</div>' % side
        return '<div class="s-section"><div class="grow">%s</div>%s</div>' % ("".join(parts), side)
    if kind == "context":
        return '<div class="s-context">%s</div>' % "".join(slack_element(e) for e in block.get("elements", []))
    if kind == "actions":
        return '<div class="s-actions">%s</div>' % "".join(slack_element(e) for e in block.get("elements", []))
    if kind == "divider":
        return '<hr class="s-divider">'
    if kind == "image":
        title = '<div class="s-image-title">%s</div>' % slack_text(block["title"]) if block.get("title") else ""
        return '<div class="s-image">%s%s</div>' % (title, image_box(block.get("alt_text"), 360, 160))
    if kind == "rich_text":
        return '<div class="s-rich">%s</div>' % "".join(slack_rich_text(e) for e in block.get("elements", []))
    return unknown(kind, "block")


def slack_color(value):
    named = {"good": "#2eb67d", "warning": "#ecb22e", "danger": "#e01e5a"}
    value = str(value or "")
    if value in named:
        return named[value]
    if re.match(r"^#?[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$", value):
        return value if value.startswith("#") else "#" + value
    return "#dddddd"


def slack_attachment(attachment):
    parts = []
    if attachment.get("author_name"):
        parts.append('<div class="a-author">%s</div>' % link(esc(attachment["author_name"]), attachment.get("author_link")))
    if attachment.get("title"):
        parts.append('<div class="a-title">%s</div>' % link(esc(slack_unescape(attachment["title"])), attachment.get("title_link")))
    if attachment.get("text"):
        parts.append('<div class="a-text">%s</div>' % slack_mrkdwn(attachment["text"]))
    if attachment.get("fields"):
        fields = []
        for field in attachment["fields"]:
            css = "a-field short" if field.get("short") else "a-field"
            fields.append('<div class="%s"><div class="a-field-title">%s</div><div>%s</div></div>' % (css, esc(field.get("title")), slack_mrkdwn(field.get("value", ""))))
        parts.append('<div class="a-fields">%s</div>' % "".join(fields))
    parts.extend(slack_block(b) for b in attachment.get("blocks", []))
    if attachment.get("image_url"):
        parts.append(image_box("image", 360, 160))
    footer = []
    if attachment.get("footer"):
        footer.append(slack_mrkdwn(attachment["footer"]))
    if attachment.get("ts"):
        footer.append(esc(utc(attachment["ts"])))
    if footer:
        parts.append('<div class="a-footer">%s</div>' % " | ".join(footer))
    pretext = '<div>%s</div>' % slack_mrkdwn(attachment["pretext"]) if attachment.get("pretext") else ""
    return '%s<div class="s-attachment" style="border-left-color:%s">%s</div>' % (pretext, slack_color(attachment.get("color")), "".join(parts))


def slack_page(message):
    blocks = message.get("blocks") or []
    body = "".join(slack_block(b) for b in blocks)
    if not blocks and message.get("text"):
        body = '<div class="s-section-text">%s</div>' % slack_mrkdwn(message["text"])
    body += "".join(slack_attachment(a) for a in message.get("attachments") or [])
    name = message.get("username") or APP_NAME
    content = """
<div class="s-message">
  <div class="s-avatar">DR</div>
  <div class="grow">
    <div class="s-meta"><span class="s-name">%s</span><span class="s-app">APP</span></div>
    %s
  </div>
</div>""" % (esc(name), body)
    note = "Notification text (shown in notifications, not in the message): " + esc(message["text"]) if blocks and message.get("text") else ""
    return content, note


SLACK_CSS = """
body { background:#fff; color:#1d1c1d; font:15px/1.46668 "Slack-Lato", Lato, "Helvetica Neue", Arial, sans-serif; }
.s-message { display:flex; gap:8px; padding:8px 20px; }
.s-avatar { flex:0 0 36px; height:36px; border-radius:6px; background:#e01e5a; color:#fff; font-weight:900; font-size:13px; display:flex; align-items:center; justify-content:center; }
.s-meta { line-height:22px; }
.s-name { font-weight:900; }
.s-app { margin-left:4px; padding:1px 3px; border-radius:2px; background:rgba(29,28,29,.13); color:rgba(29,28,29,.7); font-size:10px; font-weight:700; vertical-align:1px; }
.s-header { font-size:18px; font-weight:900; line-height:1.33; margin:4px 0 8px; }
.s-section { display:flex; gap:12px; margin:4px 0; }
.s-fields { display:grid; grid-template-columns:1fr 1fr; gap:8px 16px; margin-top:8px; }
.s-context { display:flex; flex-wrap:wrap; align-items:center; gap:4px 12px; margin:6px 0; font-size:12px; line-height:1.5; color:rgba(29,28,29,.7); }
.s-context .ctx-text b { color:rgba(29,28,29,.7); }
.s-actions { display:flex; flex-wrap:wrap; gap:8px; margin:10px 0 4px; }
.s-button { display:inline-flex; align-items:center; height:28px; padding:0 12px; border:1px solid rgba(29,28,29,.3); border-radius:4px; background:#fff; color:#1d1c1d; font-size:13px; font-weight:700; text-decoration:none; white-space:nowrap; }
.s-button.primary { background:#007a5a; border-color:#007a5a; color:#fff; }
.s-button.danger { background:#e01e5a; border-color:#e01e5a; color:#fff; }
.s-select { display:inline-flex; align-items:center; gap:8px; height:28px; padding:0 12px; border:1px solid rgba(29,28,29,.3); border-radius:4px; font-size:13px; color:rgba(29,28,29,.7); }
.s-divider { border:0; border-top:1px solid #dddddd; margin:10px 0; }
.s-attachment { border-left:4px solid #dddddd; border-radius:2px; padding:2px 0 2px 12px; margin:6px 0; }
.a-title { font-weight:700; } .a-author { font-size:13px; font-weight:700; }
.a-fields { display:flex; flex-wrap:wrap; gap:6px 0; margin:4px 0; } .a-field { flex:0 0 100%; } .a-field.short { flex:0 0 50%; }
.a-field-title { font-weight:700; } .a-footer { font-size:12px; color:rgba(29,28,29,.7); margin-top:4px; }
.link { color:#1264a3; text-decoration:none; }
.mention { color:#1264a3; background:rgba(29,155,209,.1); border-radius:3px; padding:0 2px; }
.mention.broadcast { color:#1d1c1d; background:rgba(242,199,68,.4); }
.code { font:12px Monaco, Menlo, Consolas, "DejaVu Sans Mono", monospace; color:#e01e5a; background:rgba(29,28,29,.04); border:1px solid rgba(29,28,29,.13); border-radius:3px; padding:2px 3px 1px; }
.pre { font:12px/1.5 Monaco, Menlo, Consolas, "DejaVu Sans Mono", monospace; background:rgba(29,28,29,.04); border:1px solid rgba(29,28,29,.13); border-radius:4px; padding:8px; margin:4px 0; white-space:pre-wrap; }
.quote { border-left:4px solid #dddddd; padding-left:16px; margin:4px 0; }
.list { margin:4px 0; padding-left:22px; }
"""


# ---------------------------------------------------------------------------------------------
# Microsoft Teams (Adaptive Cards)

TEAMS_SPACING = {"none": 0, "small": 4, "default": 8, "medium": 16, "large": 20, "extralarge": 24, "padding": 16}
TEAMS_SIZES = {"small": 12, "default": 14, "medium": 16, "large": 20, "extralarge": 24}
TEAMS_WEIGHTS = {"lighter": 300, "default": 400, "bolder": 600}
TEAMS_COLORS = {"default": "#242424", "dark": "#242424", "light": "#ffffff", "accent": "#5b5fc7",
                "good": "#0e700e", "warning": "#835b00", "attention": "#c4314b"}
TEAMS_SUBTLE = {"default": "#616161", "dark": "#616161", "light": "#e0e0e0", "accent": "#7f85f5",
                "good": "#359b35", "warning": "#a97800", "attention": "#d1576d"}
TEAMS_STYLES = {"default": "#ffffff", "emphasis": "#f5f5f5", "accent": "#e8ebfa", "good": "#e7f4e4",
                "attention": "#fde7e9", "warning": "#fff4ce"}
TEAMS_IMAGE_SIZES = {"small": 40, "medium": 80, "large": 160}


def lower(value, default):
    return str(value if value is not None else default).lower()


class TeamsCard:
    """Draws one Adaptive Card with Teams' light theme; `mentions` are the msteams entities' texts."""

    def __init__(self, card):
        self.card = card
        extension = card.get("msteams") if isinstance(card.get("msteams"), dict) else {}
        self.mentions = {e.get("text") for e in extension.get("entities", []) if isinstance(e, dict) and e.get("type") == "mention"}
        self.full_width = lower(extension.get("width"), "") == "full"

    def inline(self, text):
        """Teams markdown inside one line: **bold**, _italic_ or *italic*, [links](url), <at>mentions</at>."""
        keep = Placeholders()

        def mention(match):
            whole = match.group(0)
            if whole in self.mentions:
                return keep.keep('<span class="t-mention">%s</span>' % esc(match.group(1)))
            return whole  # Teams shows a mention without an entity as its text

        text = re.sub(r"<at>(.*?)</at>", mention, text)
        text = re.sub(r"\[([^\]\n]+)\]\(([^)\s]+)\)", lambda m: keep.keep(link(esc(m.group(1)), m.group(2))), text)
        text = esc(text)
        text = re.sub(r"\*\*(?!\s)(.+?)(?<!\s)\*\*", r"<b>\1</b>", text)
        text = emphasis(text, "*", "i")
        text = emphasis(text, "_", "i")
        return keep.restore(text)

    def markdown(self, text):
        """Teams' TextBlock markdown. A single newline is a line break only inside a list; elsewhere
        it is a space, and a paragraph break takes a blank line ("\\n\\n"), as Teams documents."""
        out = []
        for paragraph in re.split(r"(?:\r?\n|\r)[ \t]*(?:\r?\n|\r)", str(text or "")):
            lines = re.split(r"\r?\n|\r", paragraph)
            run, kind, items = [], None, []

            def flush_text():
                if run:
                    out.append("<p>%s</p>" % self.inline(" ".join(run)))
                    run.clear()

            def flush_list():
                if items:
                    out.append("<%s>%s</%s>" % (kind, "".join("<li>%s</li>" % self.inline(i) for i in items), kind))
                    items.clear()

            for line in lines:
                bullet = re.match(r"^\s*[-*]\s+(.*)$", line)
                number = re.match(r"^\s*\d+\.\s+(.*)$", line)
                if bullet or number:
                    flush_text()
                    this = "ul" if bullet else "ol"
                    if kind != this:
                        flush_list()
                    kind = this
                    items.append((bullet or number).group(1))
                elif items and line.startswith((" ", "\t")):
                    items[-1] += " " + line.strip()
                else:
                    flush_list()
                    kind = None
                    run.append(line)
            flush_list()
            flush_text()
        return "".join(out)

    def text_style(self, element, default_size="default"):
        size = lower(element.get("size"), default_size)
        weight = lower(element.get("weight"), "default")
        if lower(element.get("style"), "") == "heading":
            size, weight = "large", "bolder"
        color = lower(element.get("color"), "default")
        palette = TEAMS_SUBTLE if element.get("isSubtle") else TEAMS_COLORS
        style = "font-size:%dpx;font-weight:%d;color:%s;" % (TEAMS_SIZES.get(size, 14), TEAMS_WEIGHTS.get(weight, 400), palette.get(color, TEAMS_COLORS["default"]))
        if lower(element.get("fontType"), "") == "monospace":
            style += "font-family:'Cascadia Mono', Consolas, 'DejaVu Sans Mono', monospace;"
        alignment = lower(element.get("horizontalAlignment"), "")
        if alignment in ("left", "center", "right"):
            style += "text-align:%s;" % alignment
        return style

    def element(self, element, first, padding):
        """One element with its spacing and separator; padding is that of the element's parent,
        which a Container or Column with "bleed" extends over."""
        if not isinstance(element, dict) or element.get("isVisible") is False:
            return ""
        drawn = self.draw(element, padding)
        if drawn is None:
            fallback = element.get("fallback")
            if fallback == "drop":
                return ""
            drawn = self.draw(fallback, padding) if isinstance(fallback, dict) else None
            if drawn is None:
                drawn = unknown(element.get("type"), "element")
        style = ""
        if not first:
            style = "margin-top:%dpx;" % TEAMS_SPACING.get(lower(element.get("spacing"), "default"), 8)
            if element.get("separator"):
                style += "border-top:1px solid #e0e0e0;padding-top:%dpx;" % TEAMS_SPACING.get(lower(element.get("spacing"), "default"), 8)
        if element.get("height") == "stretch":
            style += "flex:1 1 auto;"
        if element.get("bleed") and self.styled(element) and padding:
            style += "margin-left:-%dpx;margin-right:-%dpx;" % (padding, padding)
            if first:
                style += "margin-top:-%dpx;" % padding
        return '<div class="t-el" style="%s">%s</div>' % (style, drawn)

    def items(self, elements, padding):
        shown = [e for e in elements or [] if isinstance(e, dict) and e.get("isVisible") is not False]
        return "".join(self.element(e, i == 0, padding) for i, e in enumerate(shown))

    @staticmethod
    def styled(element):
        return lower(element.get("style"), "default") in TEAMS_STYLES and lower(element.get("style"), "default") != "default"

    def container_style(self, element, padding):
        """Background and padding of a styled Container or Column; one that bleeds keeps its text
        aligned with its parent's by taking the parent's padding."""
        if not self.styled(element):
            return ""
        inner = max(12, padding) if element.get("bleed") else 12
        radius = "0" if element.get("bleed") else "4px"
        return "background:%s;padding:12px %dpx;border-radius:%s;" % (TEAMS_STYLES[lower(element.get("style"), "")], inner, radius)

    def own_padding(self, element, padding):
        if not self.styled(element):
            return 0
        return max(12, padding) if element.get("bleed") else 12

    def vertical(self, element):
        alignment = lower(element.get("verticalContentAlignment"), "top")
        justify = {"center": "center", "bottom": "flex-end"}.get(alignment, "flex-start")
        minimum = element.get("minHeight")
        extra = "min-height:%s;" % esc(minimum) if isinstance(minimum, str) and re.match(r"^\d+px$", minimum) else ""
        return "display:flex;flex-direction:column;justify-content:%s;%s" % (justify, extra)

    def draw(self, element, padding):
        """Returns the HTML of one element, or None for a type this preview does not know."""
        kind = element.get("type")
        if kind == "TextBlock":
            css = "t-text" + ("" if element.get("wrap") else " nowrap")
            style = self.text_style(element)
            if element.get("maxLines"):
                style += "display:-webkit-box;-webkit-box-orient:vertical;-webkit-line-clamp:%d;overflow:hidden;" % int(element["maxLines"])
            return '<div class="%s" style="%s">%s</div>' % (css, style, self.markdown(element.get("text")))
        if kind == "RichTextBlock":
            runs = []
            for run in element.get("inlines", []):
                if isinstance(run, str):
                    runs.append(esc(run))
                    continue
                piece = esc(run.get("text"))
                style = self.text_style(run)
                if run.get("italic"):
                    style += "font-style:italic;"
                if run.get("strikethrough"):
                    style += "text-decoration:line-through;"
                if run.get("underline"):
                    style += "text-decoration:underline;"
                if run.get("highlight"):
                    style += "background:#fff100;"
                runs.append('<span style="%s">%s</span>' % (style, piece))
            alignment = lower(element.get("horizontalAlignment"), "left")
            return '<div class="t-text" style="text-align:%s">%s</div>' % (esc(alignment), "".join(runs))
        if kind == "FactSet":
            rows = "".join('<tr><td class="t-fact-title">%s</td><td>%s</td></tr>' % (self.inline(str(f.get("title", ""))), self.inline(str(f.get("value", "")))) for f in element.get("facts", []))
            return '<table class="t-facts">%s</table>' % rows
        if kind == "Container":
            style = self.container_style(element, padding) + self.vertical(element)
            return '<div style="%s">%s</div>' % (style, self.items(element.get("items"), self.own_padding(element, padding)))
        if kind == "ColumnSet":
            columns = []
            for index, column in enumerate(c for c in element.get("columns", []) if isinstance(c, dict) and c.get("isVisible") is not False):
                width = column.get("width", "stretch")
                if isinstance(width, (int, float)) or (isinstance(width, str) and re.match(r"^\d+(\.\d+)?$", width)):
                    flex = "%s 1 0" % width
                elif isinstance(width, str) and re.match(r"^\d+px$", width):
                    flex = "0 0 %s" % width
                elif width == "auto":
                    flex = "0 1 auto"
                else:
                    flex = "1 1 0"
                style = "flex:%s;min-width:0;%s%s" % (flex, self.container_style(column, 0), self.vertical(column))
                if index:
                    gap = TEAMS_SPACING.get(lower(column.get("spacing"), "default"), 8)
                    style += "margin-left:%dpx;" % gap
                    if column.get("separator"):
                        style += "border-left:1px solid #e0e0e0;padding-left:%dpx;" % gap
                columns.append('<div style="%s">%s</div>' % (style, self.items(column.get("items"), self.own_padding(column, 0))))
            return '<div style="display:flex;%s">%s</div>' % (self.container_style(element, padding), "".join(columns))
        if kind == "Image":
            size = TEAMS_IMAGE_SIZES.get(lower(element.get("size"), "medium"), 80)
            width = int(element["width"][:-2]) if re.match(r"^\d+px$", str(element.get("width", ""))) else size
            height = int(element["height"][:-2]) if re.match(r"^\d+px$", str(element.get("height", ""))) else size
            css = "img-box round" if lower(element.get("style"), "") == "person" else "img-box"
            return image_box(element.get("altText"), width, height, css)
        if kind == "ImageSet":
            size = TEAMS_IMAGE_SIZES.get(lower(element.get("imageSize"), "medium"), 80)
            return '<div class="t-imageset">%s</div>' % "".join(image_box(i.get("altText"), size, size) for i in element.get("images", []))
        if kind == "ActionSet":
            return self.actions(element.get("actions"))
        if kind == "Table":
            return self.table(element)
        if kind == "Media":
            return image_box(element.get("altText") or "media", 320, 180)
        if isinstance(kind, str) and kind.startswith("Input."):
            label = '<div class="t-label">%s</div>' % esc(element["label"]) if element.get("label") else ""
            if kind == "Input.Toggle":
                return '%s<div class="t-toggle">&#x2610; %s</div>' % (label, esc(element.get("title")))
            shown = element.get("placeholder") or element.get("value") or ""
            return '%s<div class="t-input">%s</div>' % (label, esc(shown))
        return None

    def table(self, element):
        columns = [c if isinstance(c, dict) else {} for c in element.get("columns", [])]
        weights = [c.get("width", 1) for c in columns]
        total = sum(w for w in weights if isinstance(w, (int, float))) or 1
        grid = element.get("showGridLines", True)
        header = element.get("firstRowAsHeader", True)
        rows = []
        for r, row in enumerate(element.get("rows", [])):
            cells = []
            for c, cell in enumerate(row.get("cells", [])):
                tag = "th" if header and r == 0 else "td"
                width = weights[c] if c < len(weights) else None
                if isinstance(width, (int, float)):
                    style = "width:%.1f%%;" % (100.0 * width / total)
                else:
                    style = "width:%s;" % (width if isinstance(width, str) and width.endswith("px") else "auto")
                style += "border:1px solid #e0e0e0;" if grid else ""
                cells.append('<%s style="%s">%s</%s>' % (tag, style, self.items(cell.get("items"), 0), tag))
            rows.append("<tr>%s</tr>" % "".join(cells))
        return '<table class="t-table">%s</table>' % "".join(rows)

    def actions(self, actions):
        buttons = []
        for action in actions or []:
            if not isinstance(action, dict) or action.get("isVisible") is False:
                continue
            style = lower(action.get("style"), "default")
            css = "t-button" + (" positive" if style == "positive" else " destructive" if style == "destructive" else "")
            title = esc(action.get("title") or action.get("type"))
            if action.get("type") == "Action.ShowCard":
                title += " &#x2304;"
            buttons.append(link(title, action.get("url"), css) if action.get("type") == "Action.OpenUrl" else '<span class="%s">%s</span>' % (css, title))
        return '<div class="t-actions">%s</div>' % "".join(buttons) if buttons else ""

    def html(self):
        body = self.items(self.card.get("body"), 16)
        actions = self.actions(self.card.get("actions"))
        if actions:
            actions = '<div style="margin-top:%dpx">%s</div>' % (TEAMS_SPACING["default"] + 8, actions)
        width = "t-card full" if self.full_width else "t-card"
        direction = ' dir="rtl"' if self.card.get("rtl") else ""
        return '<div class="%s"%s style="%s">%s%s</div>' % (width, direction, self.vertical(self.card), body, actions)


def teams_page(message):
    cards = []
    for attachment in message.get("attachments") or []:
        if attachment.get("contentType") == "application/vnd.microsoft.card.adaptive" and isinstance(attachment.get("content"), dict):
            cards.append(TeamsCard(attachment["content"]).html())
        else:
            cards.append(unknown(attachment.get("contentType"), "attachment"))
    text = '<div class="t-plain">%s</div>' % esc(message["text"]) if message.get("text") else ""
    content = """
<div class="t-message">
  <div class="t-avatar">DR</div>
  <div class="grow">
    <div class="t-meta"><span class="t-name">%s</span></div>
    %s%s
  </div>
</div>""" % (esc(APP_NAME), text, "".join(cards))
    note = "Notification text (shown in the activity feed, not in the message): " + esc(message["summary"]) if message.get("summary") else ""
    return content, note


# In each client's font stack, "DejaVu Sans" follows the local stand-in for the client's own font
# (Open Sans, Roboto), which lacks symbols such as "→": the clients' fonts draw them at text size,
# and without it they would come from Arial's metric clone, which draws them small and low. The
# email keeps Arial's look, since the HTML part itself asks for Arial.
TEAMS_CSS = """
body { background:#f5f5f5; color:#242424; font:14px/1.43 "Segoe UI", "Open Sans", "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; }
.t-message { display:flex; gap:10px; padding:16px 20px 8px; }
.t-avatar { flex:0 0 32px; height:32px; border-radius:50%; background:#5b5fc7; color:#fff; font-size:12px; font-weight:600; display:flex; align-items:center; justify-content:center; }
.t-meta { font-size:12px; line-height:20px; margin-bottom:4px; } .t-name { font-weight:600; }
.t-card { background:#fff; border-radius:6px; overflow:hidden; box-shadow:0 1px 2px rgba(0,0,0,.14), 0 0 2px rgba(0,0,0,.12); padding:16px; max-width:440px; }
.t-card.full { max-width:none; }
.t-text p { margin:0; } .t-text p + p, .t-text p + ul, .t-text ul + p, .t-text p + ol, .t-text ol + p { margin-top:8px; }
.t-text ul, .t-text ol { margin:0; padding-left:20px; }
.t-text.nowrap, .t-text.nowrap p { white-space:nowrap; overflow:hidden; text-overflow:ellipsis; }
.t-facts { border-collapse:collapse; } .t-facts td { padding:0 10px 2px 0; vertical-align:top; }
.t-fact-title { font-weight:600; max-width:150px; white-space:normal; }
.t-actions { display:flex; gap:8px; }
.t-button { flex:1 1 0; display:flex; align-items:center; justify-content:center; min-height:32px; padding:0 12px; border:1px solid #d1d1d1; border-radius:4px; background:#fff; color:#242424; font-weight:600; text-decoration:none; text-align:center; }
.t-button.positive { background:#5b5fc7; border-color:#5b5fc7; color:#fff; } .t-button.destructive { color:#c4314b; }
.t-mention { color:#5b5fc7; font-weight:600; }
.t-table { border-collapse:collapse; width:100%; table-layout:fixed; } .t-table th .t-text { font-weight:600 !important; } .t-table th, .t-table td { padding:6px 8px; text-align:left; vertical-align:top; }
.t-imageset { display:flex; flex-wrap:wrap; gap:8px; }
.t-label { font-size:12px; margin-bottom:4px; } .t-input { border:1px solid #d1d1d1; border-bottom-color:#616161; border-radius:4px; padding:5px 10px; min-height:20px; color:#707070; }
.link { color:#5b5fc7; text-decoration:none; }
"""


# ---------------------------------------------------------------------------------------------
# Discord

def discord_time(unix, style="f"):
    moment = datetime.datetime.fromtimestamp(int(unix), datetime.timezone.utc)
    formats = {"t": "%H:%M", "T": "%H:%M:%S", "d": "%d/%m/%Y", "D": "%d %B %Y", "f": "%d %B %Y %H:%M",
               "F": "%A, %d %B %Y %H:%M", "R": "%d %B %Y %H:%M"}
    return moment.strftime(formats.get(style, formats["f"])) + (" UTC" if style in "tTfFR" else "")


def discord_inline(text, keep):
    """Discord markdown within a line, on text whose code spans and escapes are already kept."""

    def angle(match):
        inner = match.group(1)
        if re.match(r"^@!?\d+$", inner):
            return keep.keep('<span class="mention">@%s</span>' % esc(inner.lstrip("@!")))
        if re.match(r"^@&\d+$", inner):
            return keep.keep('<span class="mention">@role-%s</span>' % esc(inner[2:]))
        if re.match(r"^#\d+$", inner):
            return keep.keep('<span class="mention">#%s</span>' % esc(inner[1:]))
        stamp = re.match(r"^t:(-?\d+)(?::([tTdDfFR]))?$", inner)
        if stamp:
            return keep.keep('<span class="d-time">%s</span>' % esc(discord_time(stamp.group(1), stamp.group(2) or "f")))
        emoji = re.match(r"^a?:(\w+):\d+$", inner)
        if emoji:
            return keep.keep(":%s:" % esc(emoji.group(1)))
        if re.match(r"^https?://", inner):
            return keep.keep(link(esc(inner), inner))
        return match.group(0)

    text = re.sub(r"<([^<>\s][^<>]*)>", angle, text)
    text = re.sub(r"\[([^\]\n]+)\]\((<?)(https?://[^)\s>]+)>?\)", lambda m: keep.keep(link(esc(m.group(1)), m.group(3))), text)
    text = re.sub(r"https?://[^\s<>\ue000\ue001]+", lambda m: keep.keep(link(esc(m.group(0)), m.group(0))), text)
    text = re.sub(r"@(everyone|here)\b", lambda m: keep.keep('<span class="mention">@%s</span>' % m.group(1)), text)
    text = esc(text)
    text = re.sub(r"\*\*\*(?!\s)(.+?)(?<!\s)\*\*\*", r"<b><i>\1</i></b>", text)
    text = re.sub(r"\*\*(?!\s)(.+?)(?<!\s)\*\*", r"<b>\1</b>", text)
    text = re.sub(r"__(?!\s)(.+?)(?<!\s)__", r"<u>\1</u>", text)
    text = re.sub(r"(?<![\w*])\*(?![\s*])(.+?)(?<![\s*])\*(?![\w*])", r"<i>\1</i>", text)
    text = re.sub(r"(?<![\w_])_(?![\s_])(.+?)(?<![\s_])_(?![\w_])", r"<i>\1</i>", text)
    text = re.sub(r"~~(?!\s)(.+?)(?<!\s)~~", r"<s>\1</s>", text)
    text = re.sub(r"\|\|(.+?)\|\|", r'<span class="d-spoiler">\1</span>', text)
    return text


def discord_markdown(text, blocks=True):
    """Discord markdown to HTML. With blocks, also headings (#, ##, ###, -#), lists and quotes."""
    keep = Placeholders()
    text = str(text or "")
    text = re.sub(r"```(?:[\w+-]*\n)?(.*?)```", lambda m: keep.keep('<pre class="d-pre">%s</pre>' % esc(m.group(1).strip("\n"))), text, flags=re.S)
    text = re.sub(r"(``?)(?!\s*\1)(.+?)\1", lambda m: keep.keep('<code class="d-code">%s</code>' % esc(m.group(2))), text)
    text = re.sub(r"\\([^A-Za-z0-9\s])", lambda m: keep.keep(esc(m.group(1))), text)
    if not blocks:
        return keep.restore(discord_inline(text, keep).replace("\n", "<br>"))
    out = []
    lines = text.split("\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith(">>> "):
            rest = "<br>".join(discord_inline(l, keep) for l in [line[4:]] + lines[index + 1:])
            out.append('<blockquote class="d-quote">%s</blockquote>' % rest)
            break
        if line.startswith("> ") or line == ">":
            quote = []
            while index < len(lines) and (lines[index].startswith("> ") or lines[index] == ">"):
                quote.append(discord_inline(lines[index][2:], keep))
                index += 1
            out.append('<blockquote class="d-quote">%s</blockquote>' % "<br>".join(quote))
            continue
        heading = re.match(r"^(#{1,3}|-#) (.+)$", line)
        if heading:
            level = {"#": 1, "##": 2, "###": 3, "-#": 0}[heading.group(1)]
            out.append('<div class="d-h%d">%s</div>' % (level, discord_inline(heading.group(2), keep)))
            index += 1
            continue
        if re.match(r"^\s*([-*]|\d+\.) ", line):
            items = []
            ordered = bool(re.match(r"^\s*\d+\.", line))
            while index < len(lines) and re.match(r"^\s*([-*]|\d+\.) ", lines[index]):
                items.append("<li>%s</li>" % discord_inline(re.sub(r"^\s*([-*]|\d+\.) ", "", lines[index]), keep))
                index += 1
            tag = "ol" if ordered else "ul"
            out.append('<%s class="d-list">%s</%s>' % (tag, "".join(items), tag))
            continue
        out.append(discord_inline(line, keep) + ("<br>" if index + 1 < len(lines) else ""))
        index += 1
    return tidy_blocks(keep.restore("".join(out)))


def discord_embed(embed):
    color = embed.get("color")
    bar = "#%06x" % int(color) if isinstance(color, int) and color > 0 else "#1e1f22"
    parts = []
    author = embed.get("author")
    if isinstance(author, dict) and author.get("name"):
        icon = image_box("", 24, 24, "img-box round") if author.get("icon_url") else ""
        parts.append('<div class="d-author">%s%s</div>' % (icon, link(esc(author["name"]), author.get("url"), "d-author-name")))
    if embed.get("title"):
        title = discord_markdown(embed["title"], blocks=False)
        parts.append('<div class="d-title">%s</div>' % (link(title, embed["url"], "d-title-link") if embed.get("url") else title))
    if embed.get("description"):
        parts.append('<div class="d-description">%s</div>' % discord_markdown(embed["description"]))
    fields = embed.get("fields") or []
    if fields:
        cells = []
        row = []
        rows = []
        for field in fields:
            cell = '<div class="d-field-name">%s</div><div class="d-field-value">%s</div>' % (discord_markdown(field.get("name", ""), blocks=False), discord_markdown(field.get("value", "")))
            if field.get("inline") and len(row) < 3:
                row.append(cell)
                continue
            if row:
                rows.append(row)
                row = []
            if field.get("inline"):
                row.append(cell)
            else:
                rows.append([cell])
        if row:
            rows.append(row)
        for row in rows:
            span = 12 // len(row)
            cells.extend('<div class="d-field" style="grid-column:span %d">%s</div>' % (span, c) for c in row)
        parts.append('<div class="d-fields">%s</div>' % "".join(cells))
    image = embed.get("image")
    if isinstance(image, dict) and image.get("url"):
        parts.append(image_box("image", 400, 200))
    footer = []
    if isinstance(embed.get("footer"), dict) and embed["footer"].get("text"):
        footer.append(esc(embed["footer"]["text"]))
    if embed.get("timestamp"):
        footer.append(esc(iso_time(embed["timestamp"])))
    if footer:
        parts.append('<div class="d-footer">%s</div>' % " &#x2022; ".join(footer))
    thumbnail = ""
    if isinstance(embed.get("thumbnail"), dict) and embed["thumbnail"].get("url"):
        thumbnail = '<div class="d-thumb">%s</div>' % image_box("thumbnail", 80, 80)
    return '<div class="d-embed" style="border-left-color:%s"><div class="grow">%s</div>%s</div>' % (bar, "".join(parts), thumbnail)


def discord_page(message):
    name = message.get("username") or APP_NAME
    stamp = ""
    for embed in message.get("embeds") or []:
        if embed.get("timestamp"):
            stamp = iso_time(embed["timestamp"])
            break
    content = '<div class="d-content">%s</div>' % discord_markdown(message["content"]) if message.get("content") else ""
    embeds = "".join(discord_embed(e) for e in message.get("embeds") or [])
    page = """
<div class="d-message">
  <div class="d-avatar">DR</div>
  <div class="grow">
    <div class="d-meta"><span class="d-name">%s</span><span class="d-app">APP</span><span class="d-stamp">%s</span></div>
    %s%s
  </div>
</div>""" % (esc(name), esc(stamp), content, embeds)
    return page, ""


DISCORD_CSS = """
body { background:#313338; color:#dbdee1; font:16px/1.375 "gg sans", "Noto Sans", "Open Sans", "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; }
.d-message { display:flex; gap:16px; padding:12px 16px 8px; }
.d-avatar { flex:0 0 40px; height:40px; border-radius:50%; background:#5865f2; color:#fff; font-size:14px; font-weight:600; display:flex; align-items:center; justify-content:center; }
.d-meta { line-height:22px; } .d-name { color:#f2f3f5; font-weight:500; }
.d-app { margin-left:4px; padding:0 4px; border-radius:3px; background:#5865f2; color:#fff; font-size:10px; font-weight:600; vertical-align:2px; line-height:15px; }
.d-stamp { margin-left:6px; color:#949ba4; font-size:12px; }
.d-content { word-wrap:break-word; }
.d-embed { display:flex; gap:16px; max-width:516px; margin-top:4px; background:#2b2d31; border-left:4px solid #1e1f22; border-radius:4px; padding:8px 16px 16px 12px; font-size:14px; line-height:1.375; }
.d-author { display:flex; align-items:center; gap:8px; margin-top:8px; font-size:14px; font-weight:600; color:#f2f3f5; }
.d-title { margin-top:8px; font-size:16px; font-weight:600; color:#f2f3f5; } .d-title-link { color:#00a8fc; text-decoration:none; }
.d-description { margin-top:8px; white-space:normal; }
.d-fields { display:grid; grid-template-columns:repeat(12, 1fr); gap:8px; margin-top:8px; }
.d-field { min-width:0; } .d-field-name { font-weight:600; color:#f2f3f5; margin-bottom:2px; } .d-field-value { word-wrap:break-word; }
.d-footer { margin-top:8px; font-size:12px; color:#dbdee1; }
.d-code { font:85% Consolas, "Andale Mono WT", "DejaVu Sans Mono", monospace; background:#2b2d31; border-radius:4px; padding:0 .2em; }
.d-embed .d-code { background:#1e1f22; }
.d-pre { font:14px/1.125rem Consolas, "DejaVu Sans Mono", monospace; background:#2b2d31; border:1px solid #1e1f22; border-radius:4px; padding:8px; margin:6px 0; white-space:pre-wrap; }
.d-quote { border-left:4px solid #4e5058; padding-left:12px; margin:0; }
.d-h1 { font-size:24px; font-weight:700; margin:8px 0 0; color:#f2f3f5; } .d-h2 { font-size:20px; font-weight:700; margin:8px 0 0; color:#f2f3f5; }
.d-h3 { font-size:16px; font-weight:700; margin:8px 0 0; color:#f2f3f5; } .d-h0 { font-size:12px; color:#949ba4; }
.d-list { margin:4px 0; padding-left:20px; }
.d-spoiler { background:#1e1f22; color:#1e1f22; border-radius:3px; }
.d-time { background:rgba(255,255,255,.06); border-radius:3px; padding:0 2px; }
.mention { color:#c9cdfb; background:rgba(88,101,242,.3); border-radius:3px; padding:0 2px; font-weight:500; }
.link { color:#00a8fc; text-decoration:none; }
.caption, .note { color:#949ba4; border-top-color:#4e5058; }
.img-box { background:#1e1f22; color:#949ba4; }
"""


# ---------------------------------------------------------------------------------------------
# Google Chat

class ChatHTML(HTMLParser):
    """Rebuilds Google Chat's textParagraph HTML from the tags Chat supports; other tags are dropped
    and their text is kept, all text and attributes are escaped."""

    SIMPLE = {"b": "b", "strong": "b", "i": "i", "em": "i", "u": "u", "s": "s", "strike": "s", "del": "s",
              "code": "code", "pre": "pre", "ul": "ul", "ol": "ol", "li": "li", "p": "p"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out = []
        self.open = []
        self.hidden = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "style"):
            self.hidden += 1
        elif tag == "br":
            self.out.append("<br>")
        elif tag in self.SIMPLE:
            self.out.append("<%s>" % self.SIMPLE[tag])
            self.open.append(self.SIMPLE[tag])
        elif tag == "font":
            color = attrs.get("color") or ""
            style = ' style="color:%s"' % color if re.match(r"^#?[0-9A-Za-z]{3,8}$", color) else ""
            self.out.append("<span%s>" % style)
            self.open.append("span")
        elif tag == "a":
            url = safe_url(attrs.get("href"))
            self.out.append('<a class="link" href="%s">' % esc(url) if url else '<a class="link">')
            self.open.append("a")

    def handle_startendtag(self, tag, attrs):
        if tag == "br":
            self.out.append("<br>")

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.hidden = max(0, self.hidden - 1)
            return
        mapped = {"font": "span"}.get(tag, self.SIMPLE.get(tag, tag))
        if mapped in self.open:
            while self.open:
                last = self.open.pop()
                self.out.append("</%s>" % last)
                if last == mapped:
                    break

    def handle_data(self, data):
        if not self.hidden:
            self.out.append(esc(data))

    def result(self):
        self.close()
        return "".join(self.out) + "".join("</%s>" % t for t in reversed(self.open))


def chat_html(text):
    parser = ChatHTML()
    parser.feed(str(text or ""))
    return parser.result()


def chat_text(text):
    """Google Chat message text: *bold*, _italic_, ~strike~, `code`, ```blocks```, <url|links>,
    <users/...> mentions."""
    keep = Placeholders()
    text = str(text or "")
    text = re.sub(r"```(.*?)```", lambda m: keep.keep('<pre class="pre">%s</pre>' % esc(m.group(1).strip("\n"))), text, flags=re.S)
    text = re.sub(r"`([^`\n]+)`", lambda m: keep.keep('<code class="code">%s</code>' % esc(m.group(1))), text)

    def angle(match):
        inner = match.group(1)
        if inner.startswith("users/"):
            who = inner[len("users/"):]
            return keep.keep('<span class="mention">@%s</span>' % esc("all" if who == "all" else who))
        target, _, label = inner.partition("|")
        if safe_url(target):
            return keep.keep(link(esc(label or target), target))
        return match.group(0)

    text = re.sub(r"<([^<>\n]+)>", angle, text)
    text = esc(text)
    for marker, tag in (("*", "b"), ("_", "i"), ("~", "s")):
        text = emphasis(text, marker, tag)
    return keep.restore(text.replace("\n", "<br>"))


KNOWN_ICONS = {"AIRPLANE": "\u2708", "BOOKMARK": "\U0001F516", "BUS": "\U0001F68C", "CAR": "\U0001F697",
               "CLOCK": "\U0001F552", "CONFIRMATION_NUMBER_ICON": "\U0001F39F", "DESCRIPTION": "\U0001F4C4",
               "DOLLAR": "$", "EMAIL": "\u2709", "EVENT_SEAT": "\U0001F4BA", "FLIGHT_ARRIVAL": "\U0001F6EC",
               "FLIGHT_DEPARTURE": "\U0001F6EB", "HOTEL": "\U0001F3E8", "INVITE": "\u2709", "MAP_PIN": "\U0001F4CD",
               "MEMBERSHIP": "\U0001F465", "MULTIPLE_PEOPLE": "\U0001F465", "PERSON": "\U0001F464",
               "PHONE": "\u260E", "STAR": "\u2605", "STORE": "\U0001F3EA", "TICKET": "\U0001F3AB", "TRAIN": "\U0001F686",
               "VIDEO_CAMERA": "\U0001F3A5", "VIDEO_PLAY": "\u25B6"}


def chat_icon(icon):
    if not isinstance(icon, dict):
        return ""
    if icon.get("knownIcon"):
        glyph = KNOWN_ICONS.get(icon["knownIcon"], "\u25CF")
    elif isinstance(icon.get("materialIcon"), dict):
        glyph = "\u25CF"
    else:
        glyph = "\u25A1"
    return '<span class="g-icon" title="%s">%s</span>' % (esc(icon.get("altText") or icon.get("knownIcon") or ""), esc(glyph))


def chat_color(color):
    if not isinstance(color, dict):
        return None
    channel = lambda name: max(0, min(255, round(float(color.get(name, 0)) * 255)))
    return "rgba(%d,%d,%d,%s)" % (channel("red"), channel("green"), channel("blue"), color.get("alpha", 1))


def chat_button(button):
    kind = str(button.get("type") or "").upper()
    css = "g-button" + {"OUTLINED": " outlined", "BORDERLESS": " borderless", "FILLED_TONAL": " tonal"}.get(kind, "")
    style = ""
    background = chat_color(button.get("color"))
    if background and kind not in ("OUTLINED", "BORDERLESS"):
        style = ' style="background:%s"' % background
    label = chat_icon(button.get("icon")) + esc(button.get("text") or "")
    url = ((button.get("onClick") or {}).get("openLink") or {}).get("url")
    target = safe_url(url)
    if target:
        return '<a class="%s"%s href="%s">%s</a>' % (css, style, esc(target), label)
    return '<span class="%s"%s>%s</span>' % (css, style, label)


def chat_widget(widget):
    if "decoratedText" in widget:
        d = widget["decoratedText"]
        top = '<div class="g-top">%s</div>' % chat_html(d["topLabel"]) if d.get("topLabel") else ""
        bottom = '<div class="g-bottom">%s</div>' % chat_html(d["bottomLabel"]) if d.get("bottomLabel") else ""
        wrap = "" if d.get("wrapText", True) else " nowrap"
        side = ""
        if isinstance(d.get("button"), dict):
            side = chat_button(d["button"])
        elif isinstance(d.get("switchControl"), dict):
            side = '<span class="g-switch%s"></span>' % (" on" if d["switchControl"].get("selected") else "")
        icon = chat_icon(d.get("startIcon") or d.get("icon"))
        return '<div class="g-decorated">%s<div class="grow">%s<div class="g-text%s">%s</div>%s</div>%s</div>' % (icon, top, wrap, chat_html(d.get("text")), bottom, side)
    if "textParagraph" in widget:
        return '<div class="g-paragraph">%s</div>' % chat_html(widget["textParagraph"].get("text"))
    if "buttonList" in widget:
        return '<div class="g-buttons">%s</div>' % "".join(chat_button(b) for b in widget["buttonList"].get("buttons", []))
    if "divider" in widget:
        return '<hr class="g-divider">'
    if "image" in widget:
        return image_box(widget["image"].get("altText"), 360, 160)
    if "columns" in widget:
        columns = []
        for column in widget["columns"].get("columnItems", []):
            columns.append('<div class="grow">%s</div>' % "".join(chat_widget(w) for w in column.get("widgets", [])))
        return '<div class="g-columns">%s</div>' % "".join(columns)
    if "grid" in widget:
        grid = widget["grid"]
        items = "".join('<div class="g-grid-item">%s<div>%s</div></div>' % (image_box("", 64, 64) if i.get("image") else "", esc(i.get("title"))) for i in grid.get("items", []))
        title = '<div class="g-section-header">%s</div>' % esc(grid["title"]) if grid.get("title") else ""
        return '%s<div class="g-grid" style="grid-template-columns:repeat(%d, 1fr)">%s</div>' % (title, int(grid.get("columnCount", 2)), items)
    if "chipList" in widget:
        return '<div class="g-buttons">%s</div>' % "".join('<span class="g-chip">%s</span>' % esc(c.get("label")) for c in widget["chipList"].get("chips", []))
    kind = next(iter(widget.keys()), "?")
    return unknown(kind, "widget")


def chat_card(card):
    parts = []
    header = card.get("header")
    if isinstance(header, dict):
        image = image_box("", 40, 40, "img-box round") if header.get("imageUrl") else ""
        subtitle = '<div class="g-subtitle">%s</div>' % esc(header["subtitle"]) if header.get("subtitle") else ""
        parts.append('<div class="g-header">%s<div class="grow"><div class="g-title">%s</div>%s</div></div>' % (image, esc(header.get("title")), subtitle))
    for section in card.get("sections") or []:
        title = '<div class="g-section-header">%s</div>' % chat_html(section["header"]) if section.get("header") else ""
        widgets = section.get("widgets") or []
        shown = widgets
        more = ""
        if section.get("collapsible") and section.get("uncollapsibleWidgetsCount"):
            shown = widgets[: int(section["uncollapsibleWidgetsCount"])]
            more = '<div class="g-more">Show more &#x2304;</div>' if len(shown) < len(widgets) else ""
        parts.append('<div class="g-section">%s%s%s</div>' % (title, "".join('<div class="g-widget">%s</div>' % chat_widget(w) for w in shown), more))
    if isinstance(card.get("fixedFooter"), dict):
        footer = card["fixedFooter"]
        buttons = [b for b in (footer.get("primaryButton"), footer.get("secondaryButton")) if isinstance(b, dict)]
        parts.append('<div class="g-section g-buttons">%s</div>' % "".join(chat_button(b) for b in buttons))
    return '<div class="g-card">%s</div>' % "".join(parts)


def googlechat_page(message):
    text = '<div class="g-message-text">%s</div>' % chat_text(message["text"]) if message.get("text") else ""
    cards = []
    for entry in message.get("cardsV2") or []:
        cards.append(chat_card(entry.get("card") or {}))
    if message.get("cards"):
        cards.append(unknown("cards", "legacy field"))
    accessory = "".join(chat_widget(w) for w in message.get("accessoryWidgets") or [])
    page = """
<div class="g-message">
  <div class="g-avatar">DR</div>
  <div class="grow">
    <div class="g-meta"><span class="g-name">%s</span><span class="g-app">App</span></div>
    %s%s%s
  </div>
</div>""" % (esc(APP_NAME), text, "".join(cards), accessory)
    return page, ""


GOOGLECHAT_CSS = """
body { background:#fff; color:#1f1f1f; font:14px/20px "Google Sans Text", Roboto, "DejaVu Sans", Arial, sans-serif; }
.g-message { display:flex; gap:12px; padding:14px 20px 8px; }
.g-avatar { flex:0 0 32px; height:32px; border-radius:50%; background:#0b57d0; color:#fff; font-size:12px; font-weight:500; display:flex; align-items:center; justify-content:center; }
.g-meta { line-height:20px; } .g-name { font-weight:500; }
.g-app { margin-left:6px; padding:0 6px; border-radius:4px; background:#e9eef6; color:#444746; font-size:11px; font-weight:500; }
.g-message-text { margin:2px 0 8px; }
.g-card { max-width:560px; border:1px solid #c4c7c5; border-radius:12px; overflow:hidden; background:#fff; }
.g-header { display:flex; gap:12px; align-items:center; padding:16px 16px 8px; }
.g-title { font:500 16px/24px "Google Sans", Roboto, "DejaVu Sans", Arial, sans-serif; } .g-subtitle { color:#444746; font-size:14px; }
.g-section { padding:8px 16px; } .g-section + .g-section { border-top:1px solid #e3e3e3; }
.g-section-header { color:#444746; font-weight:500; margin:4px 0 6px; }
.g-widget { padding:6px 0; }
.g-decorated { display:flex; gap:12px; align-items:center; }
.g-top, .g-bottom { font-size:12px; line-height:16px; color:#444746; } .g-text.nowrap { white-space:nowrap; overflow:hidden; text-overflow:ellipsis; }
.g-icon { flex:0 0 24px; text-align:center; font-size:18px; color:#444746; }
.g-buttons { display:flex; flex-wrap:wrap; gap:8px; }
.g-button { display:inline-flex; align-items:center; gap:6px; height:36px; padding:0 20px; border-radius:18px; background:#0b57d0; color:#fff; font-weight:500; text-decoration:none; }
.g-button.outlined { background:#fff; color:#0b57d0; border:1px solid #747775; } .g-button.borderless { background:none; color:#0b57d0; padding:0 12px; }
.g-button.tonal { background:#c2e7ff; color:#001d35; }
.g-chip { border:1px solid #747775; border-radius:8px; padding:4px 12px; }
.g-switch { position:relative; flex:0 0 36px; height:20px; border-radius:10px; background:#e3e3e3; } .g-switch.on { background:#0b57d0; }
.g-switch::after { content:""; position:absolute; top:3px; left:3px; width:14px; height:14px; border-radius:50%; background:#fff; } .g-switch.on::after { left:19px; }
.g-divider { border:0; border-top:1px solid #e3e3e3; margin:4px 0; }
.g-columns { display:flex; gap:16px; } .g-grid { display:grid; gap:8px; } .g-more { color:#0b57d0; font-weight:500; padding:6px 0; }
.g-paragraph ul, .g-paragraph ol { margin:2px 0; padding-left:20px; } .g-paragraph p { margin:0 0 6px; }
.link { color:#0b57d0; text-decoration:none; }
.mention { color:#0b57d0; background:#d3e3fd; border-radius:10px; padding:0 4px; }
.code { font:13px "Roboto Mono", "DejaVu Sans Mono", monospace; background:#f0f4f9; border-radius:4px; padding:1px 4px; }
.pre { font:13px "Roboto Mono", "DejaVu Sans Mono", monospace; background:#f0f4f9; border-radius:6px; padding:8px; white-space:pre-wrap; }
"""


# ---------------------------------------------------------------------------------------------
# Email

def parse_email_snapshot(text):
    """Splits the snapshot format "Subject: S\\n\\nTEXT\\n---\\nHTML\\n" into (subject, text, html)."""
    if not text.startswith("Subject: "):
        raise ValueError('an email snapshot starts with "Subject: "')
    subject, _, rest = text[len("Subject: "):].partition("\n")
    rest = rest[1:] if rest.startswith("\n") else rest
    match = re.search(r"\n---\n(?=\s*<)", rest)
    if not match:
        raise ValueError('no line "---" followed by the HTML part')
    html_part = rest[match.end():]
    return subject, rest[: match.start()], html_part[:-1] if html_part.endswith("\n") else html_part


def email_page(snapshot):
    subject, _text, html_part = parse_email_snapshot(snapshot)
    page = """
<div class="e-client">
  <div class="e-subject">%s</div>
  <div class="e-from"><span class="e-avatar">DR</span><div><b>%s</b><div class="e-to">to the configured recipients</div></div></div>
  <iframe id="mail" class="e-body" sandbox="allow-same-origin" srcdoc="%s"></iframe>
</div>""" % (esc(subject), esc(APP_NAME), esc(html_part))
    return page, ""


EMAIL_CSS = """
body { background:#fff; color:#1f1f1f; font:14px/20px Roboto, Arial, sans-serif; }
.e-client { padding:16px 20px 4px; }
.e-subject { font:400 22px/28px "Google Sans", Roboto, Arial, sans-serif; margin-bottom:14px; }
.e-from { display:flex; gap:12px; align-items:center; margin-bottom:12px; } .e-to { color:#5e5e5e; font-size:12px; }
.e-avatar { flex:0 0 40px; height:40px; border-radius:50%; background:#0b57d0; color:#fff; display:flex; align-items:center; justify-content:center; font-weight:500; }
.e-body { display:block; width:100%; height:200px; border:0; border-top:1px solid #e3e3e3; }
"""


# ---------------------------------------------------------------------------------------------
# Pages and screenshots

COMMON_CSS = """
* { box-sizing:border-box; }
html, body { margin:0; }
.grow { flex:1 1 auto; min-width:0; }
.img-box { display:inline-flex; align-items:center; justify-content:center; overflow:hidden; background:#e8e8e8; color:#707070; font-size:11px; text-align:center; border-radius:4px; vertical-align:middle; }
.img-box.round { border-radius:50%; } .img-box.small { font-size:0; }
.unknown { border:1px dashed #c4314b; color:#c4314b; border-radius:4px; padding:4px 8px; margin:4px 0; font-size:12px; }
.note { margin:8px 20px 0; padding-top:6px; border-top:1px solid #e3e3e3; color:#707070; font:12px/1.4 "DejaVu Sans", sans-serif; }
.caption { margin:10px 20px 0; padding:6px 0 10px; border-top:1px dashed #c8c8c8; color:#8a8a8a; font:11px/1.4 "DejaVu Sans", sans-serif; }
"""

# Sets data-content-height on <html> once everything, the email's frame included, has been laid
# out; render-alert-previews.py reads it from --dump-dom to size the screenshot.
MEASURE = """
window.addEventListener("load", function () {
  var frame = document.getElementById("mail");
  if (frame && frame.contentDocument) {
    frame.style.height = "0px";  // with no viewport to fill, scrollHeight is the content's height
    frame.style.height = Math.ceil(frame.contentDocument.documentElement.scrollHeight) + 2 + "px";
  }
  document.documentElement.setAttribute("data-content-height", String(Math.ceil(document.documentElement.getBoundingClientRect().height)));
});
"""


def page(service_class, css, content, note, caption):
    nonce = secrets.token_hex(12)
    policy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'nonce-%s'" % nonce
    note_html = '<div class="note">%s</div>' % note if note else ""
    return """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="%s">
<title>%s</title>
<style>%s%s</style></head>
<body class="%s">%s
%s<div class="caption">%s</div>
<script nonce="%s">%s</script>
</body></html>
""" % (policy, esc(caption), COMMON_CSS, css, service_class, content, note_html, caption, nonce, MEASURE)


def utc(seconds):
    try:
        return datetime.datetime.fromtimestamp(float(seconds), datetime.timezone.utc).strftime("%d %b %Y %H:%M UTC")
    except (TypeError, ValueError):
        return str(seconds)


def iso_time(value):
    try:
        moment = datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        return moment.astimezone(datetime.timezone.utc).strftime("%d/%m/%Y %H:%M UTC")
    except ValueError:
        return str(value)


BUILDERS = {
    "slack": (slack_page, SLACK_CSS),
    "teams": (teams_page, TEAMS_CSS),
    "discord": (discord_page, DISCORD_CSS),
    "googlechat": (googlechat_page, GOOGLECHAT_CSS),
    "email": (email_page, EMAIL_CSS),
}


def build_page(service, path):
    with open(path, encoding="utf-8") as handle:
        raw = handle.read()
    builder, css = BUILDERS[service]
    content, note = builder(raw if service == "email" else json.loads(raw))
    client = SERVICES[service][2]
    caption = ("Local approximation of how %s shows this message, drawn from %s by "
               "scripts/render-alert-previews.py; not a screenshot of the real client. "
               "Fonts, spacing and colours are close, not exact; images are not loaded.") % (esc(client), esc(os.path.basename(path)))
    return page(service, css, content, note, caption)


def screenshot(html_path, png_path):
    """Renders html_path 700 px wide and exactly as tall as its content. Returns an error or None."""
    dom = subprocess.run([RENDER, "--dump-dom", html_path, "%dx1000" % WIDTH], capture_output=True, text=True)
    if dom.returncode != 0:
        return "render-html.sh --dump-dom failed: %s" % dom.stderr.strip()[-2000:]
    match = re.search(r'data-content-height="(\d+)"', dom.stdout)
    if not match:
        return "the page did not report its height (its script did not run)"
    height = max(120, min(int(match.group(1)), 12000))
    shot = subprocess.run([RENDER, html_path, png_path, "%dx%d" % (WIDTH, height)], capture_output=True, text=True)
    if shot.returncode != 0:
        return "render-html.sh failed: %s" % shot.stderr.strip()[-2000:]
    return None


def inputs(snapshot_dir):
    """Yields (service, snapshot path, output stem) for every snapshot of a known service."""
    names = sorted(os.listdir(snapshot_dir))
    for service, (prefix, suffix, _client) in SERVICES.items():
        for name in names:
            if name.startswith(prefix + "-") and name.endswith(suffix):
                variant = name[len(prefix) + 1: -len(suffix)]
                yield service, os.path.join(snapshot_dir, name), service if variant == "audit" else "%s-%s" % (service, variant)


def main(arguments):
    if len(arguments) != 2 or arguments[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 2
    snapshot_dir, out_dir = arguments
    if not os.path.isdir(snapshot_dir):
        print("no such folder: %s" % snapshot_dir, file=sys.stderr)
        return 2
    os.makedirs(out_dir, exist_ok=True)
    failed = False
    found = set()
    for service, path, stem in inputs(snapshot_dir):
        found.add(os.path.basename(path))
        html_path = os.path.join(out_dir, stem + ".html")
        png_path = os.path.join(out_dir, stem + ".png")
        try:
            document = build_page(service, path)
        except (ValueError, KeyError, TypeError, AttributeError) as failure:
            print("FAIL %s: cannot draw it: %s" % (path, failure), file=sys.stderr)
            failed = True
            continue
        with open(html_path, "w", encoding="utf-8") as handle:
            handle.write(document)
        error = screenshot(html_path, png_path)
        if error:
            print("FAIL %s: %s" % (path, error), file=sys.stderr)
            failed = True
        else:
            print("wrote %s" % png_path)
    for service, (prefix, suffix, _client) in SERVICES.items():
        expected = "%s-audit%s" % (prefix, suffix)
        if expected not in found:
            print("FAIL %s: missing from %s" % (expected, snapshot_dir), file=sys.stderr)
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
