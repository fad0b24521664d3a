"""The suite's Spark session runs Hadoop's local file system through java.nio (ato.spark.localfs): the
FileSystem and FileContext APIs both, with Hadoop's permissions, link statuses and renames; Delta
writes through it everywhere else in the suite."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from ato.spark import localfs

pytestmark = pytest.mark.spark


def test_the_session_uses_the_nio_file_system_as_hadoop_would(spark: Any, tmp_path: Path) -> None:
    assert localfs.JAR.is_file(), f"{localfs.JAR} is not built: `make setup` runs `python -m ato.spark.localfs`"
    jvm, conf = spark._jvm, spark._jsc.hadoopConfiguration()
    uri = jvm.java.net.URI("file:///")
    fs = jvm.org.apache.hadoop.fs.FileSystem.get(uri, conf)
    fc = jvm.org.apache.hadoop.fs.FileContext.getFileContext(uri, conf)
    assert fs.getClass().getName() == "ato.hadoop.NioLocalFileSystem"
    assert fc.getDefaultFileSystem().getClass().getName() == "ato.hadoop.NioLocalFs"

    def path(p: Path) -> Any:
        return jvm.org.apache.hadoop.fs.Path(f"file://{p}")

    perm = jvm.org.apache.hadoop.fs.permission.FsPermission
    fs.mkdirs(path(tmp_path / "d"), perm.createImmutable(0o750))  # mkdirs applies the umask, as Hadoop's
    fs.setPermission(path(tmp_path / "d"), perm.createImmutable(0o750))
    out = fs.create(path(tmp_path / "d" / "f"), perm.createImmutable(0o640), True, 4096, 1, 1 << 20, None)
    out.write(b"abc")
    out.close()
    assert stat.S_IMODE(os.stat(tmp_path / "d").st_mode) == 0o750
    assert stat.S_IMODE(os.stat(tmp_path / "d" / "f").st_mode) == 0o640
    assert (tmp_path / "d" / ".f.crc").is_file(), "still the checksummed local file system"
    sticky = perm.createImmutable(0o1777)  # java.nio has no sticky bit: Hadoop's own chmod
    fs.setPermission(path(tmp_path / "d"), sticky)
    assert stat.S_IMODE(os.stat(tmp_path / "d").st_mode) == 0o1777

    # link statuses as Hadoop's own RawLocalFileSystem gives them (which finds a link only on a path
    # without its scheme), for plain files, links and missing files
    os.symlink(tmp_path / "d" / "f", tmp_path / "link")

    def raw(cls: Any) -> Any:
        f = cls()
        f.initialize(uri, conf)
        return f

    hadoop, nio = raw(jvm.org.apache.hadoop.fs.RawLocalFileSystem), raw(jvm.ato.hadoop.NioRawLocalFileSystem)

    def status(f: Any, p: str) -> tuple[Any, ...]:
        try:
            st = f.getFileLinkStatus(jvm.org.apache.hadoop.fs.Path(p))
        except Exception as e:  # py4j's error names the Java exception
            return ("raised", "FileNotFoundException" in str(e))
        return st.isSymlink(), st.getSymlink().toString() if st.isSymlink() else None, st.isFile(), st.getLen()

    paths = [f"{scheme}{tmp_path / name}" for scheme in ("file://", "") for name in ("d/f", "link", "missing")]
    seen = {p: status(nio, p) for p in paths}
    assert seen == {p: status(hadoop, p) for p in paths}
    assert seen[str(tmp_path / "link")][0] is True and seen[f"file://{tmp_path / 'd/f'}"] == (False, None, True, 3)
    assert seen[str(tmp_path / "missing")] == ("raised", True)
    # FileContext's rename (Delta's commits through HDFSLogStore): moves, and refuses an existing target
    rename = jvm.org.apache.hadoop.fs.Options.Rename
    none = spark.sparkContext._gateway.new_array(rename, 1)
    none[0] = rename.NONE
    fc.rename(path(tmp_path / "d" / "f"), path(tmp_path / "d" / "g"), none)
    assert (tmp_path / "d" / "g").read_bytes() == b"abc" and not (tmp_path / "d" / "f").exists()
    (tmp_path / "d" / "h").write_bytes(b"kept")
    with pytest.raises(Exception, match="FileAlreadyExistsException"):
        fc.rename(path(tmp_path / "d" / "g"), path(tmp_path / "d" / "h"), none)
    assert (tmp_path / "d" / "h").read_bytes() == b"kept"
