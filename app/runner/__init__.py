"""Everything about Ansible: the scratch folder, inventory, credentials on disk,
the ansible-runner call, the event sink and process control.

Nothing here knows of Flask requests; a worker calls it with a `RunSpec`.
"""
