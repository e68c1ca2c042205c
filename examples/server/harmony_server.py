"""The server now lives in the package: ``from openai_harmony.server import
make_server``, or ``harmony serve``. This file runs it as before."""

from openai_harmony.server import main

if __name__ == "__main__":
    main()
