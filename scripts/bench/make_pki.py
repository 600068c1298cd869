#!/usr/bin/env python3
"""Test PKI for the benchmark: a CA named "Amazon Bench CA", the SNS signing certificate it
issues (RSA-2048, CN and DNS SAN sns.amazonaws.com) and a TLS certificate for
sns.us-east-1.amazonaws.com and hooks.bench.example, so that local HTTPS servers can play
AWS's certificate host and an alert webhook.

Writes into DIR: ca.pem, ca.key, signing.pem, signing.key, tls.pem, tls.key. Keeps an existing
set while the signing certificate has at least --min-days-left of validity (the message cache
lives up to 12 hours, so it must outlive that); otherwise makes a new one.
"""
import argparse
import datetime
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALID_DAYS = 5
TLS_HOSTNAME = "sns.us-east-1.amazonaws.com"
WEBHOOK_HOSTNAME = "hooks.bench.example"
SIGNING_NAME = "sns.amazonaws.com"


def write_key(path, key):
    with open(path, "wb") as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    os.chmod(path, 0o600)


def write_cert(path, cert):
    with open(path, "wb") as handle:
        handle.write(cert.public_bytes(serialization.Encoding.PEM))


def issue(subject, public_key, ca_name, ca_key, extensions, now):
    builder = (x509.CertificateBuilder()
               .subject_name(subject)
               .issuer_name(ca_name)
               .public_key(public_key)
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(hours=1))
               .not_valid_after(now + datetime.timedelta(days=VALID_DAYS)))
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(ca_key, hashes.SHA256())


def generate(directory):
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Amazon Bench CA"),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Amazon")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca = issue(ca_name, ca_key.public_key(), ca_name, ca_key, [
        (x509.BasicConstraints(ca=True, path_length=0), True),
        (x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                       data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                       encipher_only=False, decipher_only=False), True),
        (ca_ski, False),
    ], now)
    authority_key_id = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski)

    def leaf(common_name, key, extended_usage, other_names=()):
        return issue(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]), key.public_key(),
                     ca_name, ca_key, [
                         (x509.BasicConstraints(ca=False, path_length=None), True),
                         (x509.KeyUsage(digital_signature=True, content_commitment=False,
                                        key_encipherment=extended_usage == ExtendedKeyUsageOID.SERVER_AUTH,
                                        data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                        crl_sign=False, encipher_only=False, decipher_only=False), True),
                         (x509.ExtendedKeyUsage([extended_usage]), False),
                         (x509.SubjectAlternativeName([x509.DNSName(name) for name in (common_name, *other_names)]), False),
                         (x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False),
                         (authority_key_id, False),
                     ], now)

    signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    signing = leaf(SIGNING_NAME, signing_key, ExtendedKeyUsageOID.CODE_SIGNING)
    tls_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tls = leaf(TLS_HOSTNAME, tls_key, ExtendedKeyUsageOID.SERVER_AUTH, (WEBHOOK_HOSTNAME,))

    os.makedirs(directory, exist_ok=True)
    write_key(os.path.join(directory, "ca.key"), ca_key)
    write_key(os.path.join(directory, "signing.key"), signing_key)
    write_key(os.path.join(directory, "tls.key"), tls_key)
    write_cert(os.path.join(directory, "ca.pem"), ca)
    write_cert(os.path.join(directory, "tls.pem"), tls)
    # Written last: its presence marks a complete set.
    write_cert(os.path.join(directory, "signing.pem"), signing)


def days_left(directory):
    """Days of validity left on the existing signing certificate, or None when there is no complete set."""
    names = ["ca.pem", "signing.key", "tls.pem", "tls.key", "signing.pem"]
    if not all(os.path.isfile(os.path.join(directory, name)) for name in names):
        return None
    with open(os.path.join(directory, "tls.pem"), "rb") as handle:
        names = x509.load_pem_x509_certificate(handle.read()).extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    if WEBHOOK_HOSTNAME not in names.get_values_for_type(x509.DNSName):
        return None
    with open(os.path.join(directory, "signing.pem"), "rb") as handle:
        cert = x509.load_pem_x509_certificate(handle.read())
    remaining = cert.not_valid_after_utc - datetime.datetime.now(datetime.timezone.utc)
    return remaining.total_seconds() / 86400


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory")
    parser.add_argument("--min-days-left", type=float, default=2)
    args = parser.parse_args()
    left = days_left(args.directory)
    if left is not None and left >= args.min_days_left:
        print(f"PKI: reusing {args.directory} (signing certificate valid {left:.1f} more days)", file=sys.stderr)
        return
    generate(args.directory)
    print(f"PKI: generated {args.directory}", file=sys.stderr)


if __name__ == "__main__":
    main()
