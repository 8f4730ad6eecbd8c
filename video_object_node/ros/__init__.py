"""Everything that speaks ROS: message codecs, the input and output tables, the node, bag replay."""
