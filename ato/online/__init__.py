"""The online store's side of the batch layer: publishing nightly snapshots for serving."""
