"""The catalogs every scenario of the binding's tests runs against: SQLite, and,
when their environment is there (scripts/test.sh sets it up; run-tests.sh fails
in CI without it), PostgreSQL natively and both SQLite and PostgreSQL through
ODBC. `add_backend_tests(Base, globals())` makes one TestCase class per backend
from a mixin of scenarios that calls self.uri()."""

import os
import shutil
import tempfile
import unittest

CI = os.environ.get("CI") == "true"


def _sqlite(cls):
    return "sqlite:%s/catalog.db" % cls.dir


def _odbc_sqlite(cls):
    return "odbc:DRIVER={SQLite3};Database=%s/odbc-catalog.db" % cls.dir


BACKENDS = [
    ("SQLite", None, _sqlite),
    ("PostgreSQL", "DELTASQL_TEST_PG_URI", lambda cls: os.environ["DELTASQL_TEST_PG_URI"]),
    ("OdbcSQLite", "ODBCSYSINI", _odbc_sqlite),
    ("OdbcPostgreSQL", "DELTASQL_TEST_ODBC_PG_URI",
     lambda cls: os.environ["DELTASQL_TEST_ODBC_PG_URI"]),
]


# MariaDB through ODBC: only the scenarios that ask for it (add_backend_tests'
# extra), the core binding's; scripts/mariadb-server.sh sets the URI.
ODBC_MARIADB = ("OdbcMariaDB", "DELTASQL_TEST_ODBC_MARIADB_URI",
                lambda cls: os.environ["DELTASQL_TEST_ODBC_MARIADB_URI"])


def add_backend_tests(base, namespace, only=None, extra=()):
    """Adds <Backend><base name> TestCase classes to namespace (a module's globals)."""
    for name, env, uri in list(BACKENDS) + list(extra):
        if only is not None and name not in only:
            continue

        def setUpClass(cls, env=env):
            if env and not os.environ.get(env):
                raise unittest.SkipTest("SKIPPED: %s is not set (outside CI only)" % env)
            cls.dir = tempfile.mkdtemp(prefix="deltasql-py-")

        def tearDownClass(cls):
            shutil.rmtree(getattr(cls, "dir", ""), ignore_errors=True)

        cls_name = name + base.__name__.lstrip("_")
        namespace[cls_name] = type(cls_name, (base, unittest.TestCase), {
            "backend": name, "setUpClass": classmethod(setUpClass),
            "tearDownClass": classmethod(tearDownClass),
            "uri": lambda self, uri=uri: uri(type(self))})
