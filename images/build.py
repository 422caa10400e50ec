#!/usr/bin/env python3
"""Build one image: python3 images/build.py TARGET APP [--out DIR] (see mk/image.mk)."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, "..", "tools"), os.path.join(HERE, "..", "app")]

from ptt_tool.image import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
