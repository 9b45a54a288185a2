"""Training core: batches and partitions, partition gradients, optimizers, the round, the loop."""
