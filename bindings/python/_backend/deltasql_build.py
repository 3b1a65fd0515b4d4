"""A PEP 517 build backend in the standard library only, so that
`pip install bindings/python` needs nothing from a package index."""

import base64
import hashlib
import os
import zipfile

NAME, VERSION = "deltasql", "0.1.0"
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DIST_INFO = "%s-%s.dist-info" % (NAME, VERSION)
METADATA = ("Metadata-Version: 2.1\nName: %s\nVersion: %s\nSummary: Delta Lake table metadata "
            "in a SQL database, with atomic multi-table commits (ctypes binding of "
            "libdeltasql)\nRequires-Python: >=3.8\n" % (NAME, VERSION))
WHEEL = "Wheel-Version: 1.0\nGenerator: deltasql_build\nRoot-Is-Purelib: true\nTag: py3-none-any\n"


def _record_line(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "%s,sha256=%s,%d" % (name, digest, len(data))


def _files():
    pkg = os.path.join(HERE, NAME)
    for fn in sorted(os.listdir(pkg)):
        if fn.endswith(".py"):
            with open(os.path.join(pkg, fn), "rb") as f:
                yield "%s/%s" % (NAME, fn), f.read()


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    d = os.path.join(metadata_directory, DIST_INFO)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "METADATA"), "w") as f:
        f.write(METADATA)
    with open(os.path.join(d, "WHEEL"), "w") as f:
        f.write(WHEEL)
    return DIST_INFO


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name = "%s-%s-py3-none-any.whl" % (NAME, VERSION)
    records = []
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w", zipfile.ZIP_DEFLATED) as z:
        entries = list(_files()) + [(DIST_INFO + "/METADATA", METADATA.encode()),
                                    (DIST_INFO + "/WHEEL", WHEEL.encode())]
        for path, data in entries:
            z.writestr(path, data)
            records.append(_record_line(path, data))
        records.append(DIST_INFO + "/RECORD,,")
        z.writestr(DIST_INFO + "/RECORD", "\n".join(records) + "\n")
    return name


def build_sdist(sdist_directory, config_settings=None):
    import tarfile
    name = "%s-%s" % (NAME, VERSION)
    path = os.path.join(sdist_directory, name + ".tar.gz")
    with tarfile.open(path, "w:gz") as t:
        for rel in ["pyproject.toml", "README.md", "_backend/deltasql_build.py"] + \
                [p for p, _ in _files()]:
            t.add(os.path.join(HERE, rel), arcname="%s/%s" % (name, rel))
    return name + ".tar.gz"
