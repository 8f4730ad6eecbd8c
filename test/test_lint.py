"""The linters package.xml names (ament_flake8, ament_pep257), run through ament's own wheels.

flake8 reads ament's rules with this project's line limit (setup.cfg [flake8]). pep257 runs ament's
convention minus the house style of the docstrings: summaries that wrap onto a second line (D205, D400,
D415), closing quotes on the last line of text (D209), Google-style ``Args:`` sections (D407, D413), indented
usage examples in module docstrings (D208), summaries that describe rather than command (D401), and
ament's D213 (summary on the second line), which contradicts the first-line summaries used throughout.
"""
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PATHS = [str(REPO / name) for name in ('video_object_node', 'test', 'tools', 'launch', 'setup.py')]
PEP257_HOUSE_STYLE = ['D205', 'D208', 'D209', 'D213', 'D400', 'D401', 'D407', 'D413', 'D415']


def test_flake8(capsys):
    from ament_flake8.main import main
    rc = main(argv=['--config', str(REPO / 'setup.cfg'), *PATHS])
    out = capsys.readouterr().out
    found = [line for line in out.splitlines() if re.match(r'.+:\d+:\d+: [A-Z]+\d+ ', line)]
    assert rc == 0, '\n'.join(found[:50]) or out[-3000:]


def test_pep257(capsys):
    from ament_pep257.main import main
    rc = main(argv=['--add-ignore', *PEP257_HOUSE_STYLE, '--', *PATHS])
    assert rc == 0, capsys.readouterr().out[-3000:]
