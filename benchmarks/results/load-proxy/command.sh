python benchmarks/load.py --skip-postgres --skip-sqlite --proxy-workers 32 --proxy-trials 1000 --time-limit 600
