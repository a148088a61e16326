#!/usr/bin/env python3
"""Turns a JSON file into a C source defining ms_schema_json and its length,
so the schema is compiled into the library (an installed modsim needs no
file beside it). Usage: embed_schema.py INPUT.json OUTPUT.c"""
import sys


def main():
    data = open(sys.argv[1], "rb").read()
    lines = []
    for start in range(0, len(data), 16):
        chunk = data[start:start + 16]
        lines.append("    " + ", ".join(str(b) for b in chunk) + ",")
    with open(sys.argv[2], "w") as out:
        out.write("/* generated from %s: do not edit */\n" % sys.argv[1].rsplit("/", 1)[-1])
        out.write("#include <stddef.h>\n\n")
        out.write("const char ms_schema_json[] = {\n%s\n    0};\n" % "\n".join(lines))
        out.write("const size_t ms_schema_json_len = %d;\n" % len(data))


if __name__ == "__main__":
    main()
