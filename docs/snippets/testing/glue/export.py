import sys

from awsglue.utils import getResolvedOptions

options = getResolvedOptions(sys.argv, ["target"])
print(f"exporting to {options['target']}")
