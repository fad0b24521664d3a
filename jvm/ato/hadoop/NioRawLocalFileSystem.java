package ato.hadoop;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.attribute.PosixFilePermissions;

import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.apache.hadoop.fs.permission.FsPermission;

/**
 * Hadoop's local file system without a child process per file. Without Hadoop's native library,
 * RawLocalFileSystem runs `chmod` for every file and directory it creates and `readlink` for every
 * link-status lookup (each Delta commit's rename); a JVM forks a process for each, about 5 ms apiece.
 * Here both go through java.nio; anything java.nio cannot express (a sticky bit, a symbolic link)
 * is left to Hadoop's own code.
 */
public class NioRawLocalFileSystem extends RawLocalFileSystem {

  @Override
  public void setPermission(Path p, FsPermission permission) throws IOException {
    if (permission.getStickyBit()) {
      super.setPermission(p, permission);
      return;
    }
    try {
      Files.setPosixFilePermissions(pathToFile(p).toPath(), PosixFilePermissions.fromString(permission.toString()));
    } catch (UnsupportedOperationException e) {
      super.setPermission(p, permission);
    }
  }

  /** As Hadoop's: a plain file's or directory's status; a symbolic link's goes to Hadoop's code. */
  @Override
  public FileStatus getFileLinkStatus(Path f) throws IOException {
    if (Files.isSymbolicLink(pathToFile(f).toPath())) {
      return super.getFileLinkStatus(f);
    }
    return getFileStatus(f);
  }
}
