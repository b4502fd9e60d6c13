"""Developer tools, kept out of the production image: the sample-data generator and the benchmark."""
