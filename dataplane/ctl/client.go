package ctl

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"syscall"
	"time"
)

// Client talks to a director's admin socket.
type Client struct {
	path string
	c    net.Conn
	r    *bufio.Reader
}

// Dial connects to the admin socket at path.
func Dial(path string) (*Client, error) {
	c, err := net.DialTimeout("unix", path, 5*time.Second)
	if err != nil {
		switch {
		case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ECONNREFUSED):
			return nil, fmt.Errorf("%s: no director is listening (start one with lvslab director --ctl %s)", path, path)
		case errors.Is(err, fs.ErrPermission):
			return nil, fmt.Errorf("%s: permission denied: the socket belongs to the director's user (mode 0600)", path)
		}
		return nil, err
	}
	return &Client{path: path, c: c, r: bufio.NewReaderSize(c, 64<<10)}, nil
}

// Timeout bounds one request's round trip.
const Timeout = 30 * time.Second

// Do sends req and returns the director's answer; an answer with Error
// set is returned as an error.
func (c *Client) Do(req Request) (Response, error) {
	b, err := json.Marshal(req)
	if err != nil {
		return Response{}, err
	}
	_ = c.c.SetDeadline(time.Now().Add(Timeout))
	if _, err := c.c.Write(append(b, '\n')); err != nil {
		return Response{}, fmt.Errorf("%s: %w", c.path, err)
	}
	line, err := c.r.ReadBytes('\n')
	if err != nil {
		return Response{}, fmt.Errorf("%s: reading the answer: %w", c.path, err)
	}
	var resp Response
	if err := json.Unmarshal(line, &resp); err != nil {
		return Response{}, fmt.Errorf("%s: bad answer: %w", c.path, err)
	}
	if resp.Error != "" {
		return resp, errors.New(resp.Error)
	}
	return resp, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.c.Close() }
