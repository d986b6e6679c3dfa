"""DAG integrity: the DAG files parse, stay thin and wire the stages in order."""
