"""Run the command line: ``python -m sagemaker_watch``."""

from .cli import run

if __name__ == "__main__":
    run()
