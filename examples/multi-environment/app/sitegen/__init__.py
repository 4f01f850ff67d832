"""sitegen: turns the Markdown pages in content/ into the static site that the pipeline deploys.

    python3 -m sitegen CONTENT_DIR OUTPUT_DIR [--version V]   build the site
    python3 -m sitegen.check OUTPUT_DIR                        check every local link in it

Standard library only, so the build needs nothing but python3.
"""
