"""The daemon over TLS, as docs/security.md shows it: ``--listen ssl:...`` with a
self-signed certificate, and clients that trust that certificate."""

import datetime
import ipaddress
import os
import ssl
import subprocess
import sys
import xmlrpc.client

import pytest

from tests.acceptance.daemon import REMOTETASK, ROOT

pytest.importorskip(
    'OpenSSL', reason="TLS support is not installed (the 'tls' extra: "
                      "pip install '.[tls]')")


def selfSignedCertificate(directory):
    """A key and a self-signed certificate for 127.0.0.1 and localhost,
    as docs/security.md's openssl command makes them; their paths."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'localhost')])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName('localhost'),
            x509.IPAddress(ipaddress.ip_address('127.0.0.1'))]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None),
                       critical=True)
        .sign(key, hashes.SHA256()))
    keyPath = os.path.join(directory, 'key.pem')
    certPath = os.path.join(directory, 'cert.pem')
    with open(keyPath, 'wb') as file:
        file.write(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
    with open(certPath, 'wb') as file:
        file.write(certificate.public_bytes(serialization.Encoding.PEM))
    return keyPath, certPath


@pytest.fixture
def tlsDaemon(startDaemon, tmp_path):
    """A daemon listening with TLS only, and its certificate's path."""
    key, cert = selfSignedCertificate(str(tmp_path))
    daemon = startDaemon(
        f'--listen=ssl:0:interface=127.0.0.1:privateKey={key}:certKey={cert}')
    return daemon, cert


def test_a_client_trusting_the_certificate_calls_the_daemon(tlsDaemon):
    """xmlrpc.client with an ssl context that trusts the self-signed
    certificate adds a job and reads its result over TLS; a client that
    does not trust it is refused by its own verification; the start-up
    log gives the dashboard's https URL."""
    daemon, cert = tlsDaemon
    url = f'https://127.0.0.1:{daemon.port}/'
    context = ssl.create_default_context(cafile=cert)
    server = xmlrpc.client.ServerProxy(url, context=context)
    jobid = server.add('echo', {'over': 'tls'})
    assert server.wait(jobid, 30) == 'completed'
    assert server.getResult(jobid) == {'over': 'tls'}
    with pytest.raises(ssl.SSLCertVerificationError):
        xmlrpc.client.ServerProxy(
            url, context=ssl.create_default_context()).getStatus(jobid)
    assert f'dashboard at {url}\n' in daemon.log()


def test_the_command_line_trusts_a_certificate_from_SSL_CERT_FILE(
        tlsDaemon):
    """The remotetask client reads the certificate to trust from
    SSL_CERT_FILE, as docs/security.md says."""
    daemon, cert = tlsDaemon
    done = subprocess.run(
        [sys.executable, REMOTETASK, '--url',
         f'https://127.0.0.1:{daemon.port}/', 'add', 'echo', '--input',
         '"secure"', '--wait'],
        capture_output=True, text=True, timeout=60,
        env=dict(os.environ, PYTHONPATH=ROOT, SSL_CERT_FILE=cert))
    assert (done.returncode, done.stdout) == (0, '"secure"\n'), done.stderr


def test_an_untrusted_certificate_says_to_use_SSL_CERT_FILE(tlsDaemon):
    """A client that does not trust the server's certificate fails in
    one line (exit 3) that says how to trust it: SSL_CERT_FILE."""
    daemon, cert = tlsDaemon
    env = {name: value for name, value in os.environ.items()
           if name not in ('SSL_CERT_FILE', 'SSL_CERT_DIR')}
    done = subprocess.run(
        [sys.executable, REMOTETASK, '--url',
         f'https://127.0.0.1:{daemon.port}/', 'tasks'],
        capture_output=True, text=True, timeout=60,
        env=dict(env, PYTHONPATH=ROOT))
    assert done.returncode == 3, done
    assert 'Traceback' not in done.stderr
    assert 'certificate verify failed' in done.stderr
    assert ('name its PEM file in SSL_CERT_FILE: SSL_CERT_FILE=cert.pem '
            'remotetask ...') in done.stderr
