"""Durable files in the store: replace by rename, recover at boot.

On the device the store is FAT (MicroPython's VfsFat over the virtio disk),
where closing a file, unlinking and renaming each end with a FatFs sync that
reaches the disk through the block device's SYNC ioctl. So a file written and
closed is on disk; what remains is to never let a reader see half of one:

    write NAME.new completely and close it        (old NAME still intact)
    remove NAME; rename NAME.new -> NAME          (FatFs rename can't replace)

If the machine dies between the two steps, NAME is missing and NAME.new is
complete: recover() at boot finishes the rename. A NAME.new found next to
NAME was never committed (nobody was told "done"), so it is dropped.

MicroPython's json.loads accepts a truncated document ('{"a":1' gives
{'a': 1}), so parsing proves nothing about completeness. Every JSON file we
write ends with a newline, recovery completes only files that do, and every
read checks that the document is closed.
"""

import json
import os

NEW = ".new"


class StoreError(Exception):
    pass


def _exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


class Files:
    def __init__(self, root):
        self.root = root.rstrip("/")

    def path(self, rel):
        return self.root + "/" + rel

    def exists(self, rel):
        return _exists(self.path(rel))

    def mkdir(self, rel):
        os.mkdir(self.path(rel))

    def listdir(self, rel):
        return sorted(os.listdir(self.path(rel)))

    def read(self, rel):
        with open(self.path(rel), "rb") as f:
            return f.read()

    def read_json(self, rel, problems_fn=None):
        try:
            data = self.read(rel)
            if not _closed(data):
                raise ValueError("the document is cut off")
            doc = json.loads(data)
        except OSError:
            raise StoreError("%s: cannot read it" % rel)
        except ValueError as e:
            raise StoreError("%s: not valid JSON (%s)" % (rel, e))
        if problems_fn is not None:
            problems = problems_fn(doc)
            if problems:
                raise StoreError("%s: %s" % (rel, problems[0]))
        return doc

    def write(self, rel, chunks):
        """Replace REL with the bytes CHUNKS (bytes, or an iterable of them)."""
        path = self.path(rel)
        with open(path + NEW, "wb") as f:
            if isinstance(chunks, (bytes, bytearray, memoryview)):
                f.write(chunks)
            else:
                for c in chunks:
                    f.write(c)
        if _exists(path):
            os.remove(path)
        os.rename(path + NEW, path)

    def write_json(self, rel, doc):
        self.write(rel, json_chunks(doc))

    def remove(self, rel):
        try:
            os.remove(self.path(rel))
        except OSError:
            pass

    def recover(self, folders=("", "lists", "tmp")):
        """Finish or drop replacements a crash interrupted; return what was done."""
        done = []
        for folder in folders:
            base = self.path(folder) if folder else self.root
            try:
                names = os.listdir(base)
            except OSError:
                continue
            for name in names:
                if not name.endswith(NEW):
                    continue
                rel = (folder + "/" if folder else "") + name
                final = rel[:-len(NEW)]
                if self.exists(final) or not final.endswith(".json") or not self._parses(rel):
                    self.remove(rel)
                    done.append("dropped %s (never committed)" % rel)
                else:
                    os.rename(self.path(rel), self.path(final))
                    done.append("completed %s" % final)
        return done

    def _parses(self, rel):
        try:
            data = self.read(rel)
            json.loads(data)
        except (OSError, ValueError):
            return False
        return data.endswith(b"\n") and _closed(data)


def _closed(data):
    """The document's last bracket matches its first: not cut off."""
    s = data.strip()
    return len(s) >= 2 and ((s[:1] == b"{" and s[-1:] == b"}") or (s[:1] == b"[" and s[-1:] == b"]"))


def json_chunks(doc):
    """Compact JSON as chunks: one per list item at the top level, so a
    10,000-entry queue is written in linear time (MicroPython's json.dumps of
    one large document is quadratic) and without one huge string."""
    if isinstance(doc, list):
        yield b"["
        first = True
        for item in doc:
            yield (b"" if first else b",") + json.dumps(item, separators=(",", ":")).encode()
            first = False
        yield b"]\n"
    else:
        yield json.dumps(doc, separators=(",", ":")).encode() + b"\n"
