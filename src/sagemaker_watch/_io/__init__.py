"""The I/O shell: the AWS source, clocks, retries, the rate budget and logging."""
