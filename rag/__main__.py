from .cli import main

# Guarded: a worker process started by spawn (multiprocessing, a Dask LocalCluster) imports
# the main module again, and must not run the command a second time.
if __name__ == "__main__":
    raise SystemExit(main())
