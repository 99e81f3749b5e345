#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# generate_xml_cases.py: writes xml_cases.txt, Python's ElementTree (expat) answers for documents xml_test.c feeds fed_xml_text().
#
# Each line: <document hex> <path> <outcome> <value hex>, outcome 0 = found
# (value is the element's own text: .text and its children's tails, CDATA
# included, comments skipped), 1 = well-formed but not found, 2 = expat
# refuses the document. "First" is the first element in document order
# whose name and parent chain match the path (the first component at any
# depth). The documents are random but seeded, from the subset the
# extractor reads (no DOCTYPE, no namespaces, no CR), plus mutations that
# break them in ways any XML parser must refuse.
import random
import xml.etree.ElementTree as ET

rng = random.Random(20251201)
NAMES = ["a", "b", "c", "Error", "Code", "RequestId"]
TEXTS = ["x", "hello world", "&amp;", "&lt;tag&gt;", "&quot;q&apos;", "&#65;&#x263A;", "\u00e9t\u00e9", " ", "\n  ",
         "<![CDATA[<raw>&amp;]]>", "<!-- note -->", "<?pi data?>", "1 &gt; 0"]


def element(depth):
    name = rng.choice(NAMES)
    attrs = ""
    if rng.random() < 0.3:
        attrs = ' k="v&amp;"' if rng.random() < 0.5 else " k='v'"
    if depth > 4 or rng.random() < 0.15:
        return "<%s%s/>" % (name, attrs)
    parts = []
    for _ in range(rng.randint(0, 4)):
        if rng.random() < 0.5:
            parts.append(rng.choice(TEXTS))
        else:
            parts.append(element(depth + 1))
    return "<%s%s>%s</%s>" % (name, attrs, "".join(parts), name)


def mutate(doc):
    kind = rng.randint(0, 5)
    if kind == 0 and len(doc) > 2:
        return doc[: rng.randint(1, len(doc) - 1)]  # truncated
    if kind == 1:
        return doc + "<a>"  # a second, unclosed root
    if kind == 2:
        return doc.replace("</", "</z", 1) if "</" in doc else doc + "</z>"  # mismatched close
    if kind == 3:
        return doc.replace("&amp;", "&bogus;", 1) if "&amp;" in doc else doc[:-1] + "&nope;" + doc[-1:]
    if kind == 4:
        return doc + "tail text"  # text after the root
    return "junk" + doc  # text before the root


def expected(doc, path):
    try:
        root = ET.fromstring(doc)
    except ET.ParseError:
        return 2, ""
    parent = {c: p for p in root.iter() for c in p}
    comps = path.split("/")
    for el in root.iter():
        cur, ok = el, True
        for name in reversed(comps):
            if cur is None or cur.tag != name:
                ok = False
                break
            cur = parent.get(cur)
        if ok:
            return 0, (el.text or "") + "".join(c.tail or "" for c in el)
    return 1, ""


lines = []
for i in range(400):
    doc = element(0)
    if i % 3 == 2:
        doc = mutate(doc)
    path = rng.choice(["a", "b", "a/b", "b/c", "Error/Code", "a/b/c", "RequestId", "c/a"])
    try:
        # Mostly a path that is there: a random element's own chain.
        root = ET.fromstring(doc)
        parent = {c: p for p in root.iter() for c in p}
        els = list(root.iter())
        if rng.random() < 0.7:
            el = rng.choice(els)
            chain = [el.tag]
            for _ in range(rng.randint(0, 2)):
                el = parent.get(el)
                if el is None:
                    break
                chain.insert(0, el.tag)
            path = "/".join(chain)
    except ET.ParseError:
        pass
    outcome, value = expected(doc, path)
    if outcome == 2 and i % 3 != 2:
        continue  # a document of the generator itself that expat refuses: not a case
    lines.append("%s %s %d %s" % (doc.encode().hex(), path, outcome, value.encode().hex() or "-"))
with open(__file__.replace("generate_xml_cases.py", "xml_cases.txt"), "w") as f:
    f.write("\n".join(lines) + "\n")
