"""The only package that knows which platform the app runs on.

- bootargs: the boot arguments (pure; shared with the host tool)
- linux: the kvm target (MicroPython unix port as PID 1): mounts, block
  device, network set-up, sync, power off, all through ffi
- blockdev: a block device over a file descriptor for vfs.VfsFat (host tests)
"""
