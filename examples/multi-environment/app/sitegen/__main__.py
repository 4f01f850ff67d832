import argparse
import os
import sys

from .build import build


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python3 -m sitegen", description="Build the static site.")
    parser.add_argument("content", help="folder of Markdown pages")
    parser.add_argument("output", help="folder to write the site to")
    parser.add_argument("--templates", default="templates")
    parser.add_argument("--static", default="static")
    parser.add_argument("--site", default=os.environ.get("SITE_NAME", "My Web App"))
    parser.add_argument("--version", default="dev", help="shown in the footer and in version.txt")
    args = parser.parse_args(argv)
    try:
        written = build(args.content, args.output, args.templates, args.static, args.site, args.version)
    except (OSError, ValueError) as error:
        print(f"sitegen: {error}", file=sys.stderr)
        return 1
    print(f"sitegen: wrote {len(written)} files to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
