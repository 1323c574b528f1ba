"""What the test offices share: the lines every plugin's small office site
(``tests/plugins/*/conftest.py``, ``tests/services/conftest.py``) would
otherwise repeat, and the papers they file.

``from tests.office import simple_pdf``. Each conftest keeps what is its own:
its backdesk.yaml (roles, operators), its plugins.yaml, its people.
"""

from __future__ import annotations

from pathlib import Path

#: the repository (the CLI subprocesses run from here)
ROOT = Path(__file__).resolve().parents[1]


def simple_pdf(text: str) -> bytes:
    """A one-page PDF whose text pypdf extracts (built by hand: no writer needed)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)
