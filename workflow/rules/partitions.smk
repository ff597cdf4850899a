# Stage: partitions. Owner fills in rules; partitions_targets() lists what `rule all` needs from it.


def partitions_targets():
    return []
