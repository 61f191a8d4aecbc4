"""Directives that generate reference pages from the code itself, so they cannot go stale:
``{cli-help}`` (the help text of ``neurosim`` and of each subcommand, from
``neurosim.cli.build_parser``) and ``{protocol-table}`` (every protocol with its figure,
backends and description, from the protocol registry)."""
import argparse

from docutils import nodes
from sphinx.util.docutils import SphinxDirective


class CliHelp(SphinxDirective):
    def run(self):
        from neurosim.cli import build_parser

        parser = build_parser()
        sections = [("neurosim", parser.format_help())]
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                sections += [(f"neurosim {name}", sub.format_help())
                             for name, sub in action.choices.items()]
        out = []
        for title, text in sections:
            section = nodes.section(ids=[nodes.make_id(title)])
            section += nodes.title(text=title)
            section += nodes.literal_block(text, text)
            out.append(section)
        return out


class ProtocolTable(SphinxDirective):
    def run(self):
        from neurosim.protocol import get_protocol, protocol_names

        rows = [[name, get_protocol(name).figure, ", ".join(get_protocol(name).backends),
                 get_protocol(name).description] for name in protocol_names()]
        table = nodes.table()
        group = nodes.tgroup(cols=4)
        table += group
        group.extend(nodes.colspec(colwidth=width) for width in (20, 15, 15, 50))
        head, body = nodes.thead(), nodes.tbody()
        group += head
        group += body
        for cells, parent in [(["protocol", "figure", "backends", "what it measures"], head),
                              *[(row, body) for row in rows]]:
            row = nodes.row()
            for cell in cells:
                entry = nodes.entry()
                entry += nodes.paragraph(text=cell)
                row += entry
            parent += row
        return [table]


def setup(app):
    app.add_directive("cli-help", CliHelp)
    app.add_directive("protocol-table", ProtocolTable)
    return {"parallel_read_safe": True}
