"""The sandbox's fixtures, installed as the package `messpunkt.sandbox_data`."""
