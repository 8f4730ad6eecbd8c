"""Inference without ROS: exports, backends, the streaming encoder and the pipeline the node and replay share."""
