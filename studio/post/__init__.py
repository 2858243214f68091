"""Post-processing: tools that make a new video from finished runs."""
