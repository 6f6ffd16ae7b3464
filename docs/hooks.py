"""MkDocs hook for the API reference: ssmn_rl's docstrings use Sphinx roles (``:class:`SSMN```,
``:meth:`~ssmn_rl.SSMN.forward```), which mkdocstrings renders as literal text. This turns each
role into a cross-reference that mkdocs-autorefs resolves when the target is documented (an
optional reference: plain code otherwise). The file is excluded from the site (mkdocs.yml)."""
import re

_ROLE = re.compile(r":(?:class|meth|func|mod|attr|data|obj|exc):<code>(~?)([\w.]+)(\(\))?</code>")


def _link(m: re.Match) -> str:
    tilde, target, call = m.group(1), m.group(2), m.group(3) or ""
    shown = target.rsplit(".", 1)[-1] if tilde else target
    return f'<autoref identifier="{target}" optional><code>{shown}{call}</code></autoref>'


def on_page_content(html, page, config, files):
    return _ROLE.sub(_link, html)
