"""One PipelineAdapter per model family, each imported only when a job of its family runs."""
