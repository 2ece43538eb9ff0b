"""The action's side of the local Azure: a workflow step's environment, the runner's container
action, actions/checkout's workspace, and the demo. The local Azure itself knows nothing of the
action; this package is what ties the two together for tests, the benchmark and the demo."""
