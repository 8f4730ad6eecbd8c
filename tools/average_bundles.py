# Copyright 2026 video_object_node maintainers
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""
Average the weights of several model bundles of one config into a new bundle (checkpoint averaging).

    python tools/average_bundles.py OUT BUNDLE BUNDLE [BUNDLE ...]

OUT's config.json records the bundles averaged (``meta.averaged_from``) beside the first one's metadata.
"""
import argparse
import sys
from pathlib import Path

from video_object_node.bundle.layout import Bundle, BundleError
from video_object_node.model.bundle import average_bundles, save_bundle


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog='average_bundles.py', description=__doc__.strip().splitlines()[0])
    parser.add_argument('out', type=Path, help='bundle folder to write (must not exist)')
    parser.add_argument('bundles', type=Path, nargs='+', help='bundles of one model config')
    args = parser.parse_args(argv)
    if args.out.exists():
        print(f'error: {args.out} exists; give a new folder', file=sys.stderr)
        return 2
    try:
        model = average_bundles(args.bundles)
        first = Bundle.open(args.bundles[0]).doc
    except (BundleError, OSError, ValueError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    meta = dict(first.get('meta', {}), averaged_from=[str(b) for b in args.bundles])
    save_bundle(model, args.out, meta=meta)
    print(f'wrote {args.out}: the mean of {len(args.bundles)} bundles')
    return 0


if __name__ == '__main__':
    sys.exit(main())
