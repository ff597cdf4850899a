# Stage: data. Owner fills in rules; data_targets() lists what `rule all` needs from it.


def data_targets():
    return []
