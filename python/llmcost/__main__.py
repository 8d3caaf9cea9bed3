"""`python -m llmcost ARGS...` and the `llmcost` console script: the command line itself."""

import sys


def main():
    import llmcost  # sets the bundled configs directory

    sys.stdout.flush()
    return llmcost._llmcost.main(["llmcost"] + sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
