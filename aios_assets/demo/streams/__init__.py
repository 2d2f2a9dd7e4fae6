"""What happens over time: each actor of the demo business is a generator of time-ordered
records (``Item``); :func:`aios_assets.demo.writer.generate` merges them."""
