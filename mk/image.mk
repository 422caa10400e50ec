# Bootable images: `make image TARGET=kvm APP=lists` writes
# images/out/$(TARGET)-$(APP)/ (vmlinux, bzImage, initramfs.cpio.gz, manifest.json).
# The kernel is cached in $(PTT_CACHE)/kernel by source version + config hash.
TARGET ?= kvm
APP ?= lists

.PHONY: image kernel

kernel:
	python3 kernel/linux/build.py

image: venv
	@if [ "$(TARGET)" != "kvm" ]; then \
	  echo "make image: TARGET=$(TARGET) is not supported yet; only TARGET=kvm builds (hvt needs a MicroPython Solo5 port)" >&2; \
	  exit 2; \
	fi
	$(PY) images/build.py $(TARGET) $(APP)

# Boot benchmark against Debian's stock kernel (not a test; prints both and the ratios).
.PHONY: bench-boot
bench-boot: image
	$(PY) bench/boot.py --image images/out/$(TARGET)-$(APP)
