"""The nightly snapshot as serving reads it: `files` publishes it from gold and reads it back,
`redis` loads the published snapshot into Redis for several API workers."""
