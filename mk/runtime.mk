# The MicroPython runtime (Debian trixie's micropython + libraries), pinned in
# tools/runtime/packages.lock and unpacked into $(PTT_CACHE)/runtime/<hash>/root.
# A no-op (no network) once that root exists. tools/mpy runs the binary.
# fetch.py is stdlib-only, so python3 does when the venv is not made yet.
RUNTIME_PY = $(if $(wildcard $(PY)),$(PY),python3)

.PHONY: runtime runtime-relock

runtime:
	@root=$$($(RUNTIME_PY) tools/runtime/fetch.py) && echo "runtime: $$root"

# Pin the versions the trixie mirror has now (rewrites the lock; review the diff).
runtime-relock:
	$(RUNTIME_PY) tools/runtime/fetch.py --relock
