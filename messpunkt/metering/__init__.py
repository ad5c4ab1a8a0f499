"""The metering domain: buildings, meters, readings and consumption. No framework imports."""
