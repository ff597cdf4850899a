# Stage: features. Owner fills in rules; features_targets() lists what `rule all` needs from it.


def features_targets():
    return []
