#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# generate.py: writes cases.txt, what botocore's config loader reads from each INI case, for ini_test.c.
#
# Run with /usr/bin/python3 (Debian's python3-botocore) from this directory.
import os
import tempfile

from botocore.configloader import raw_config_parse
from botocore.exceptions import ConfigParseError

CASES = [
    ("static-keys", "[default]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG\n"),
    ("profiles", "[default]\nregion = us-east-1\n\n[profile prod]\nrole_arn = arn:aws:iam::123456789012:role/R\n"
                 "source_profile = default\nexternal_id = ext-1\n"),
    ("comments-and-blanks", "# c1\n; c2\n\n[a]\n# inside\nk = v\n\n\n"),
    ("crlf", "[a]\r\nk = v\r\nx=y\r\n"),
    ("spaces-around", "[a]\n  \nk   =   spaced value  \n"),
    ("hash-in-value", "[a]\nsecret = abc#def\nproc = /bin/echo '{\"a\": 1}'\n"),
    ("equals-in-value", "[a]\ncredential_process = /usr/bin/helper --opt=1 --x=y\n"),
    ("nested", "[a]\ns3 =\n  addressing_style = path\n  max = 1\nregion = eu-west-1\n"),
    ("key-case", "[a]\nAWS_Access_Key_ID = AKID\n"),
    ("last-key-wins", "[a]\nk = 1\nk = 2\n"),
    ("duplicate-section", "[a]\nk = 1\n[a]\nj = 2\n"),
    ("colon-delimiter", "[a]\nk : v\nrole_arn: arn:aws:iam::1:role/x\n"),
    ("no-final-newline", "[a]\nk = v"),
    ("before-section", "k = v\n[a]\n"),
    ("garbage-line", "[a]\nthis is not a setting\n"),
    ("unclosed-section", "[a\nk = v\n"),
]


def main():
    out = []
    for name, text in CASES:
        with tempfile.NamedTemporaryFile("w", delete=False) as f:
            f.write(text)
            path = f.name
        try:
            try:
                parsed = raw_config_parse(path)
                lines = []
                for sec, kv in parsed.items():
                    for k, v in kv.items():
                        if isinstance(v, dict):
                            continue
                        lines.append("%s\t%s\t%s" % (sec, k, v))
                expect = "\n".join(lines) + ("\n" if lines else "")
            except ConfigParseError:
                expect = "ERROR\n"
        finally:
            os.unlink(path)
        out.append("=== %s\n%s%s--- expect\n%s" % (name, text, "" if text.endswith("\n") else "\n", expect))
    with open("cases.txt", "w") as f:
        f.write("".join(out))


if __name__ == "__main__":
    main()
