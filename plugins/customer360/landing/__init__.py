"""The landing contract and the readers that turn landing files into Arrow batches."""
