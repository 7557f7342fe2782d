"""Documents on cards (issue 18): storage backends, type detection, safe names, the service."""
