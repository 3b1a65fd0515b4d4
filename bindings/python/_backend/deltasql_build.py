"""A PEP 517 build backend in the standard library only: `pip install
bindings/python` needs nothing from a package index, with build isolation or
without (there is nothing to install into the isolated environment).

The wheel carries the C library it binds, found in this order:

1. ``--config-settings library=PATH`` (a libdeltasql.so to bundle);
2. the source tree's own build, ``_build/.libs/libdeltasql.so``;
3. a build made now from the source tree (``scripts/build.sh`` into a
   temporary folder), when the tree has ``configure.ac`` and no
   ``--config-settings build=no`` was given.

Only when none of these exists (an sdist without the C sources) is the
wheel pure Python; it then records pkg-config's libdir for ``deltasql`` at
build time, and the package looks there and in the loader's search path
when it is imported.
"""

import base64
import hashlib
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import zipfile

NAME, VERSION = "deltasql", "0.2.0"
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TREE = os.path.dirname(os.path.dirname(HERE))
DIST_INFO = "%s-%s.dist-info" % (NAME, VERSION)
LIBRARY_IN_WHEEL = "libdeltasql.so"
METADATA = ("Metadata-Version: 2.1\nName: %s\nVersion: %s\nSummary: Delta Lake table metadata "
            "in a SQL database, with atomic multi-table commits (ctypes binding of "
            "libdeltasql)\nRequires-Python: >=3.9\nProvides-Extra: arrow\n"
            "Requires-Dist: pyarrow>=14; extra == \"arrow\"\n"
            "Provides-Extra: pandas\nRequires-Dist: pyarrow>=14; extra == \"pandas\"\n"
            "Requires-Dist: pandas>=1.5; extra == \"pandas\"\n" % (NAME, VERSION))


def _wheel_text(platlib):
    tag = _platform_tag() if platlib else "any"
    return ("Wheel-Version: 1.0\nGenerator: deltasql_build\nRoot-Is-Purelib: %s\n"
            "Tag: py3-none-%s\n" % ("false" if platlib else "true", tag))


def _platform_tag():
    return sysconfig.get_platform().replace("-", "_").replace(".", "_")


def _log(msg):
    sys.stderr.write("deltasql build: %s\n" % msg)


def _pkg_config_libdir():
    try:
        out = subprocess.run(["pkg-config", "--variable=libdir", "deltasql"],
                             capture_output=True, text=True, check=False)
    except OSError:
        return None
    d = out.stdout.strip()
    return d if out.returncode == 0 and d else None


def _build_from_tree(workdir):
    """Builds libdeltasql from the source tree into workdir; its path, or None."""
    script = os.path.join(TREE, "scripts", "build.sh")
    if not (os.path.isfile(os.path.join(TREE, "configure.ac")) and os.path.isfile(script)):
        return None
    _log("building libdeltasql from %s (scripts/build.sh)" % TREE)
    env = dict(os.environ, BUILD_DIR=workdir)
    res = subprocess.run(["bash", script], env=env, stdout=sys.stderr, stderr=sys.stderr,
                         check=False)
    lib = os.path.join(workdir, ".libs", "libdeltasql.so")
    if not os.path.exists(lib):
        lib = os.path.join(workdir, ".libs", "libdeltasql.dylib")
    if res.returncode != 0 or not os.path.exists(lib):
        raise RuntimeError("building libdeltasql from the source tree failed (exit %d); "
                           "build it first (scripts/build.sh) or pass "
                           "--config-settings library=PATH" % res.returncode)
    return lib


def _library(config_settings, workdir):
    """The library file to bundle, or None for a pure-Python wheel."""
    cs = config_settings or {}
    if cs.get("library"):
        if not os.path.exists(cs["library"]):
            raise RuntimeError("--config-settings library=%s: no such file" % cs["library"])
        return cs["library"]
    for name in ("libdeltasql.so", "libdeltasql.dylib"):  # Linux, macOS
        own = os.path.join(TREE, "_build", ".libs", name)
        if os.path.exists(own):
            return own
    if cs.get("build", "yes") != "no":
        return _build_from_tree(workdir)
    return None


def _record_line(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "%s,sha256=%s,%d" % (name, digest, len(data))


def _files():
    pkg = os.path.join(HERE, NAME)
    for fn in sorted(os.listdir(pkg)):
        if fn.endswith(".py") or fn == "py.typed":
            if fn == "_build_info.py":
                continue
            with open(os.path.join(pkg, fn), "rb") as f:
                yield "%s/%s" % (NAME, fn), f.read()


def _build_info(bundled):
    libdir = _pkg_config_libdir()
    return ('"""Written by the build backend: where the C library was at build time."""\n'
            "BUNDLED = %r\nPKG_CONFIG_LIBDIR = %r\n" % (LIBRARY_IN_WHEEL if bundled else None,
                                                        libdir)).encode()


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    d = os.path.join(metadata_directory, DIST_INFO)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "METADATA"), "w") as f:
        f.write(METADATA)
    # The wheel's tag is only known once the library is found: build_wheel
    # writes its own WHEEL file.
    with open(os.path.join(d, "WHEEL"), "w") as f:
        f.write(_wheel_text(False))
    return DIST_INFO


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    workdir = tempfile.mkdtemp(prefix="deltasql-build-")
    try:
        lib = _library(config_settings, workdir)
        entries = list(_files())
        if lib:
            _log("bundling %s" % os.path.realpath(lib))
            with open(os.path.realpath(lib), "rb") as f:
                entries.append(("%s/%s" % (NAME, LIBRARY_IN_WHEEL), f.read()))
        else:
            _log("no libdeltasql to bundle: the package will look for an installed one")
        entries.append(("%s/_build_info.py" % NAME, _build_info(bool(lib))))
        wheel = _wheel_text(bool(lib))
        entries += [(DIST_INFO + "/METADATA", METADATA.encode()),
                    (DIST_INFO + "/WHEEL", wheel.encode())]
        tag = _platform_tag() if lib else "any"
        name = "%s-%s-py3-none-%s.whl" % (NAME, VERSION, tag)
        records = []
        with zipfile.ZipFile(os.path.join(wheel_directory, name), "w",
                             zipfile.ZIP_DEFLATED) as z:
            for path, data in entries:
                info = zipfile.ZipInfo(path, date_time=(2026, 1, 1, 0, 0, 0))
                info.external_attr = (0o755 if path.endswith(".so") else 0o644) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(info, data)
                records.append(_record_line(path, data))
            records.append(DIST_INFO + "/RECORD,,")
            z.writestr(DIST_INFO + "/RECORD", "\n".join(records) + "\n")
        return name
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def build_sdist(sdist_directory, config_settings=None):
    import tarfile
    name = "%s-%s" % (NAME, VERSION)
    path = os.path.join(sdist_directory, name + ".tar.gz")
    with tarfile.open(path, "w:gz") as t:
        for rel in ["pyproject.toml", "README.md", "_backend/deltasql_build.py"] + \
                [p for p, _ in _files()]:
            t.add(os.path.join(HERE, rel), arcname="%s/%s" % (name, rel))
    return name + ".tar.gz"
