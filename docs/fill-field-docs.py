#!/usr/bin/python3
# fill-field-docs.py IN.gir OUT.gir HEADER...: the reference's copy of the
# GIR, with the docs of function-pointer fields put back.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# g-ir-scanner 1.74 drops the "@field: text" docs of a class structure's
# function-pointer members (GIO's own GIR shows the same), so gi-docgen
# would list every virtual method of a class as "No description available".
# This reads those lines from the class comments in the public headers and
# adds them to the matching <field> elements. The installed GIR is the
# scanner's, untouched.

import re
import sys
import xml.etree.ElementTree as ET

CORE = 'http://www.gtk.org/introspection/core/1.0'
NAMESPACES = {
    '': CORE,
    'c': 'http://www.gtk.org/introspection/c/1.0',
    'glib': 'http://www.gtk.org/introspection/glib/1.0',
}
for prefix, uri in NAMESPACES.items():
    ET.register_namespace(prefix, uri)

src, dst, headers = sys.argv[1], sys.argv[2], sys.argv[3:]

# "StructName" -> {"field": "text"} from "/** StructName: @field: text ... */"
field_docs = {}
for header in headers:
    text = open(header, encoding='utf-8').read()
    name = 'plugin/' + header.rsplit('/', 1)[-1]
    for match in re.finditer(r'/\*\*\n(.*?)\*/', text, re.S):
        block = match.group(1)
        line_no = text.count('\n', 0, match.start()) + 2
        lines = [re.sub(r'^ ?\* ?', '', l) for l in block.splitlines()]
        if not lines or not re.match(r'^\w+:\s*$', lines[0]):
            continue
        struct = lines[0].rstrip(':').strip()
        docs, current = {}, None
        for line in lines[1:]:
            m = re.match(r'^@(\w+):\s*(.*)$', line)
            if m:
                current = m.group(1)
                docs[current] = [m.group(2), name, line_no]
            elif current and line.startswith('  '):
                docs[current][0] += ' ' + line.strip()
            else:
                current = None
        if docs:
            field_docs[struct] = docs

tree = ET.parse(src)
filled = 0
for record in tree.iter('{%s}record' % CORE):
    ctype = record.get('{%s}type' % NAMESPACES['c'])
    docs = field_docs.get(ctype, {})
    # The class structure of a final type (G_DECLARE_FINAL_TYPE) is made by
    # the macro and has only its parent: say so.
    final_of = record.get('{%s}is-gtype-struct-for' % NAMESPACES['glib'])
    if final_of and not docs:
        docs = {'parent_class': ['the parent class', 'plugin/psf.h', 1]}
        if record.find('{%s}doc' % CORE) is None:
            doc = ET.Element('{%s}doc' % CORE, {'xml:space': 'preserve',
                                                 'filename': 'plugin/psf.h', 'line': '1'})
            doc.text = ('The class of [class@Psf.%s], a final type: it adds '
                        'nothing to its parent class.' % final_of)
            record.insert(0, doc)
    for field in record.findall('{%s}field' % CORE):
        name = field.get('name')
        if field.find('{%s}doc' % CORE) is None and name in docs:
            text, filename, line = docs[name]
            doc = ET.Element('{%s}doc' % CORE, {'xml:space': 'preserve',
                                                 'filename': filename,
                                                 'line': str(line)})
            doc.text = text
            field.insert(0, doc)
            filled += 1
tree.write(dst, encoding='utf-8', xml_declaration=True)
print(f'{filled} field docs put back')
