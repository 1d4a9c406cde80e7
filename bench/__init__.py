"""Benchmarks (``make bench``): each module's ``run(quick)`` returns rows for one table."""
