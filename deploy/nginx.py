"""Renders deploy/nginx.conf for one site, and runs nginx with it in the foreground (tests,
`make load`).

    python -m deploy.nginx --server-name mediation.example.org --listen 443 \\
        --redirect-listen 80 --certificate /etc/ssl/mediation.pem \\
        --certificate-key /etc/ssl/private/mediation.key \\
        --upstream unix:/run/mediation/gunicorn.sock --state /var/lib/mediation-proxy \\
        > /etc/mediation/nginx.conf
"""

from __future__ import annotations

import argparse
import datetime
import ipaddress
import re
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CONFIG = Path(__file__).resolve().with_name("nginx.conf")
NGINX = "/usr/sbin/nginx"


@dataclass(frozen=True)
class Site:
    """What differs between one installation and another; the rest is the shipped file."""

    listen: str  # a port, or address:port
    certificate: Path
    certificate_key: Path
    upstream: str  # gunicorn's address: unix:/path/to.sock or 127.0.0.1:8000
    state: Path  # the pid file, the error log and the buffers' temporary files
    server_name: str  # the service's host name: any other Host is closed unanswered
    redirect_listen: str | None = None  # plain HTTP, only redirected to https://server_name


# Plain HTTP, when asked for: the service's name is sent to HTTPS, anything else closed.
REDIRECT = """server {
        listen @REDIRECT_LISTEN@ default_server;
        return 444;
    }

    server {
        listen @REDIRECT_LISTEN@;
        server_name @SERVER_NAME@;
        return 301 @HTTPS_ORIGIN@$request_uri;
    }"""


def https_origin(site: Site) -> str:
    port = site.listen.rsplit(":", 1)[-1]
    return f"https://{site.server_name}" + ("" if port == "443" else f":{port}")


def render(site: Site) -> str:
    text = CONFIG.read_text(encoding="utf-8")
    text = text.replace("# @REDIRECT@", REDIRECT if site.redirect_listen else "")
    for name, value in (
        ("REDIRECT_LISTEN", site.redirect_listen or ""),
        ("HTTPS_ORIGIN", https_origin(site)),
        ("SERVER_NAME", site.server_name),
        ("LISTEN", site.listen),
        ("CERTIFICATE_KEY", str(site.certificate_key)),
        ("CERTIFICATE", str(site.certificate)),
        ("UPSTREAM", site.upstream),
        ("STATE", str(site.state)),
    ):
        if name == "SERVER_NAME" and not value:
            raise ValueError("SERVER_NAME is needed: the service's host name")
        if any(character in value for character in " ;{}\n#'\""):
            raise ValueError(f"{name} may not hold spaces, quotes or ; {{ }} #: {value!r}")
        text = text.replace(f"@{name}@", value)
    left = re.findall(r"@[A-Z_]+@", text)
    if left:
        raise ValueError(f"placeholders left in {CONFIG.name}: {', '.join(left)}")
    return text


def self_signed_certificate(folder: Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
    """A throwaway certificate for `host` (tests and `make load` only), valid for a day."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    certificate_path = folder / "proxy.pem"
    key_path = folder / "proxy.key"
    certificate_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return certificate_path, key_path


def client_context(certificate: Path) -> ssl.SSLContext:
    """A TLS client context that trusts exactly the throwaway certificate."""
    return ssl.create_default_context(cafile=str(certificate))


class Proxy:
    """nginx in the foreground with a rendered configuration under `folder`."""

    def __init__(
        self,
        folder: Path,
        port: int,
        upstream: str,
        server_name: str = "127.0.0.1",
        redirect_port: int | None = None,
    ) -> None:
        self.folder = folder
        self.port = port
        # Workers run as www-data: they must reach the state folder and gunicorn's socket.
        folder.chmod(0o755)
        state = folder / "nginx"
        state.mkdir(exist_ok=True)
        self.certificate, key = self_signed_certificate(folder)
        redirect = f"127.0.0.1:{redirect_port}" if redirect_port else None
        self.site = Site(
            f"127.0.0.1:{port}", self.certificate, key, upstream, state, server_name, redirect
        )
        self.config = folder / "nginx.conf"
        self.config.write_text(render(self.site), encoding="utf-8")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20) -> None:
        if not Path(NGINX).exists():
            raise RuntimeError(f"{NGINX} is missing: `make proxy-deps` installs Debian's nginx")
        self.process = subprocess.Popen(  # noqa: S603 (a fixed program, our own arguments)
            [NGINX, "-c", str(self.config), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                error = self.process.stderr.read().decode() if self.process.stderr else ""
                raise RuntimeError(f"nginx did not start: {error}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("nginx did not start listening")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()  # nginx's fast shutdown
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=20)
        if self.process.stderr:
            self.process.stderr.close()
        self.process = None

    def __enter__(self) -> Proxy:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description="Render deploy/nginx.conf for one site.")
    parser.add_argument(
        "--server-name", required=True, help="the service's host name, as in SERVICE_URL"
    )
    parser.add_argument("--listen", default="443", help="port, or address:port (TLS)")
    parser.add_argument(
        "--redirect-listen", help="port, or address:port: plain HTTP redirected to HTTPS"
    )
    parser.add_argument("--certificate", required=True, type=Path)
    parser.add_argument("--certificate-key", required=True, type=Path)
    parser.add_argument("--upstream", default="unix:/run/mediation/gunicorn.sock")
    parser.add_argument("--state", default=Path("/var/lib/mediation-proxy"), type=Path)
    args = parser.parse_args()
    site = Site(
        args.listen,
        args.certificate,
        args.certificate_key,
        args.upstream,
        args.state,
        args.server_name,
        args.redirect_listen,
    )
    sys.stdout.write(render(site))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
